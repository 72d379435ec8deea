import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 client over NIO for talking to a worker (`http://host:port`, plain HTTP: a worker listens on
/// loopback or in a network namespace). One request at a time on a connection; a connection whose reply said
/// keep-alive goes back to an idle pool and is taken again by the next request, so an open-loop replay holds as
/// many connections as it has requests in flight and connects only when it has more than ever before.
/// (A general client, with TLS and HTTP/2, would bring BoringSSL into every build for nothing.)
public final class HTTP1Client: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer
        public var text: String { String(buffer: body) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case badURL(String)
        case timeout(seconds: Double)
        case closedBeforeReply
        case bodyTooLarge(limit: Int)
        case shutDown

        public var description: String {
            switch self {
            case .badURL(let u): return "not an http://host:port URL: '\(u)' (a worker is plain HTTP)"
            case .timeout(let s): return "no whole reply within \(s) s"
            case .closedBeforeReply: return "the connection closed before the whole reply"
            case .bodyTooLarge(let l): return "a reply body over \(l) bytes"
            case .shutDown: return "the client was shut down"
            }
        }
    }

    public let host: String
    public let port: Int
    /// The URL's path, without a trailing slash, put before each request's path.
    public let pathPrefix: String
    let group: EventLoopGroup
    private let lock = NIOLock()
    private var idle: [Channel] = []
    private var open: [ObjectIdentifier: Channel] = [:]
    private var isShutDown = false

    /// `baseURL`: `http://host[:port][/prefix]` (port 80 when none).
    public init(baseURL: String, group: EventLoopGroup) throws {
        guard let c = URLComponents(string: baseURL), c.scheme?.lowercased() == "http", let h = c.host, !h.isEmpty,
              c.query == nil, c.fragment == nil else { throw Failure.badURL(baseURL) }
        host = h
        port = c.port ?? 80
        pathPrefix = c.path.hasSuffix("/") ? String(c.path.dropLast()) : c.path
        self.group = group
    }

    /// Sends one request (`path` from `/`) and waits for its whole reply, at most `timeoutSeconds`.
    public func execute(_ method: HTTPMethod, _ path: String, body: String? = nil, timeoutSeconds: Double,
                        maxBody: Int = 64 << 20) async throws -> Response {
        let (channel, reused) = try await checkout()
        do {
            return try await exchange(on: channel, method, path, body: body, timeoutSeconds: timeoutSeconds, maxBody: maxBody)
        } catch Failure.closedBeforeReply where reused {
            // An idle connection the server had closed as this request went out: once more on a new one. (A
            // server that read the request and then closed without answering would see it twice; a worker
            // closes a kept-alive connection only when it is idle or stopping.)
            let (fresh, _) = try await checkout(fresh: true)
            return try await exchange(on: fresh, method, path, body: body, timeoutSeconds: timeoutSeconds, maxBody: maxBody)
        }
    }

    private func exchange(on channel: Channel, _ method: HTTPMethod, _ path: String, body: String?, timeoutSeconds: Double,
                          maxBody: Int) async throws -> Response {
        let promise = channel.eventLoop.makePromise(of: (Response, Bool).self)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: pathPrefix + path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        let bytes = body.map { ByteBuffer(string: $0) }
        if let b = bytes {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(b.readableBytes)")
        } else if method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeoutSeconds * 1e9))) {
            promise.fail(Failure.timeout(seconds: timeoutSeconds))
            channel.close(promise: nil)
        }
        channel.eventLoop.execute {
            // Closed since it was taken from the pool: its collector has already seen the close.
            guard channel.isActive else { promise.fail(Failure.closedBeforeReply); return }
            do {
                let collector = try channel.pipeline.syncOperations.handler(type: ReplyCollector.self)
                collector.expect(promise, maxBody: maxBody)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                if let b = bytes { channel.write(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil) }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
            } catch {
                promise.fail(error)
            }
        }
        do {
            let (response, keepAlive) = try await promise.futureResult.get()
            timeout.cancel()
            if keepAlive { checkin(channel) } else { discard(channel) }
            return response
        } catch {
            timeout.cancel()
            discard(channel)
            throw error
        }
    }

    /// An idle connection, or a new one (`fresh`: always new).
    private func checkout(fresh: Bool = false) async throws -> (Channel, reused: Bool) {
        if !fresh {
            let found: Channel? = try lock.withLock {
                if isShutDown { throw Failure.shutDown }
                while let c = idle.popLast() { if c.isActive { return c } }
                return nil
            }
            if let c = found { return (c, true) }
        }
        let channel = try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ReplyCollector())
                }
            }
            .connect(host: host, port: port).get()
        let kept: Bool = lock.withLock {
            if isShutDown { return false }
            open[ObjectIdentifier(channel)] = channel
            return true
        }
        if !kept { channel.close(promise: nil); throw Failure.shutDown }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.lock.withLock { _ = self?.open.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        return (channel, false)
    }

    private func checkin(_ channel: Channel) {
        let keep: Bool = lock.withLock {
            guard !isShutDown, channel.isActive else { return false }
            idle.append(channel)
            return true
        }
        if !keep { channel.close(promise: nil) }
    }

    private func discard(_ channel: Channel) { channel.close(promise: nil) }

    /// Closes every connection; requests after this fail.
    public func shutdown() async {
        let all: [Channel] = lock.withLock {
            isShutDown = true
            idle.removeAll()
            return Array(open.values)
        }
        for c in all { try? await c.close().get() }
    }
}

/// Gathers one reply at a time on a connection and completes the promise its request gave it: the reply and
/// whether the connection may carry another.
final class ReplyCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private var promise: EventLoopPromise<(HTTP1Client.Response, Bool)>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var maxBody = 0

    func expect(_ promise: EventLoopPromise<(HTTP1Client.Response, Bool)>, maxBody: Int) {
        self.promise = promise
        self.maxBody = maxBody
        head = nil
        body.clear()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body(var b):
            if body.readableBytes + b.readableBytes > maxBody {
                finish(.failure(HTTP1Client.Failure.bodyTooLarge(limit: maxBody)))
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&b)
        case .end:
            guard let h = head else { return }
            finish(.success((HTTP1Client.Response(status: Int(h.status.code), headers: h.headers, body: body), h.isKeepAlive)))
            head = nil
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(HTTP1Client.Failure.closedBeforeReply))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<(HTTP1Client.Response, Bool), Error>) {
        guard let p = promise else { return }
        promise = nil
        p.completeWith(result)
    }
}
