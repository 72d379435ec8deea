import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Server
import XCTest

/// The HTTP/1.1 client `run` and `compare` replay traces with, against a real NIO HTTP server on loopback:
/// connections are reused, a request in flight has its own, and a server that closes, stalls or is not there
/// gives an error, never a reply.
final class HTTP1ClientTests: XCTestCase {
    /// What the test server does with a request, by its path.
    final class TestServer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let connections: NIOLockedValueBox<Int>
        var path = ""
        var body = ""
        init(connections: NIOLockedValueBox<Int>) { self.connections = connections }

        func channelActive(context: ChannelHandlerContext) {
            connections.withLockedValue { $0 += 1 }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): path = h.uri; body = ""
            case .body(let b): body += String(buffer: b)
            case .end:
                switch path {
                case "/close": context.close(promise: nil)
                case "/stall": break
                default:
                    let reply = path == "/slow" ? "slow" : "\(path) \(body)"
                    var head = HTTPResponseHead(version: .http1_1, status: path == "/missing" ? .notFound : .ok)
                    head.headers.add(name: "Content-Length", value: "\(reply.utf8.count)")
                    head.headers.add(name: "X-Echo", value: path)
                    let send = {
                        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
                        context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply)))), promise: nil)
                        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                    }
                    if path == "/slow" { context.eventLoop.scheduleTask(in: .milliseconds(50)) { send() } } else { send() }
                }
            }
        }
    }

    var group: MultiThreadedEventLoopGroup!
    var server: Channel!
    let connections = NIOLockedValueBox(0)

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let connections = self.connections
        server = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TestServer(connections: connections))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    override func tearDown() async throws {
        try await server.close().get()
        try await group.shutdownGracefully()
    }

    var base: String { "http://127.0.0.1:\(server.localAddress!.port!)" }

    func testRepliesAndConnectionsAreReused() async throws {
        let client = try HTTP1Client(baseURL: base + "/", group: group)
        for i in 0..<20 {
            let r = try await client.execute(.POST, "/run/echo", body: "{\"request\": \(i)}", timeoutSeconds: 10)
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.text, "/run/echo {\"request\": \(i)}")
            XCTAssertEqual(r.headers.first(name: "x-echo"), "/run/echo")
        }
        XCTAssertEqual(connections.withLockedValue { $0 }, 1, "20 requests one after another share one connection")
        let missing = try await client.execute(.GET, "/missing", timeoutSeconds: 10)
        XCTAssertEqual(missing.status, 404, "a status other than 200 is a reply, given as it came")
        // In flight together: a connection each (open loop), kept for the next round.
        try await withThrowingTaskGroup(of: Int.self) { g in
            for _ in 0..<8 { g.addTask { try await client.execute(.GET, "/slow", timeoutSeconds: 10).status } }
            for try await s in g { XCTAssertEqual(s, 200) }
        }
        let afterFirst = connections.withLockedValue { $0 }
        XCTAssertGreaterThan(afterFirst, 1)
        XCTAssertLessThanOrEqual(afterFirst, 9)
        try await withThrowingTaskGroup(of: Int.self) { g in
            for _ in 0..<(afterFirst - 1) { g.addTask { try await client.execute(.GET, "/slow", timeoutSeconds: 10).status } }
            for try await s in g { XCTAssertEqual(s, 200) }
        }
        XCTAssertEqual(connections.withLockedValue { $0 }, afterFirst, "idle connections are taken again before new ones are made")
        await client.shutdown()
        do {
            _ = try await client.execute(.GET, "/", timeoutSeconds: 10)
            XCTFail("a request after shutdown")
        } catch HTTP1Client.Failure.shutDown {}
    }

    func testClosesStallsAndRefusalsAreErrors() async throws {
        let client = try HTTP1Client(baseURL: base, group: group)
        defer { Task { await client.shutdown() } }
        do {
            _ = try await client.execute(.POST, "/close", body: "{}", timeoutSeconds: 10)
            XCTFail("a connection closed without a reply gave a reply")
        } catch HTTP1Client.Failure.closedBeforeReply {}
        do {
            _ = try await client.execute(.GET, "/stall", timeoutSeconds: 0.2)
            XCTFail("a server that never replies gave a reply")
        } catch HTTP1Client.Failure.timeout(let s) { XCTAssertEqual(s, 0.2) }
        // The client goes on: a new connection for the next request.
        let ok = try await client.execute(.GET, "/after", timeoutSeconds: 10)
        XCTAssertEqual(ok.text, "/after ")
        // Nobody listening.
        let port = server.localAddress!.port!
        try await server.close().get()
        server = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get() // for tearDown
        let gone = try HTTP1Client(baseURL: "http://127.0.0.1:\(port)", group: group)
        do {
            _ = try await gone.execute(.GET, "/", timeoutSeconds: 10)
            XCTFail("a request to a port nobody listens on gave a reply")
        } catch {}
        await gone.shutdown()
    }

    func testOnlyPlainHTTPURLsAreTaken() {
        let group = self.group!
        for bad in ["https://127.0.0.1:5000", "127.0.0.1:5000", "http://", "ftp://x", "http://h:1/?q=1"] {
            XCTAssertThrowsError(try HTTP1Client(baseURL: bad, group: group), bad) { e in
                XCTAssertTrue("\(e)".contains(bad), "the error names the URL: \(e)")
            }
        }
        let c = try? HTTP1Client(baseURL: "http://localhost:5000/prefix/", group: group)
        XCTAssertEqual(c?.host, "localhost")
        XCTAssertEqual(c?.port, 5000)
        XCTAssertEqual(c?.pathPrefix, "/prefix")
        XCTAssertEqual((try? HTTP1Client(baseURL: "http://localhost", group: group))?.port, 80)
    }
}
