import HeapModule

/// A replay's future events, ordered by (time, sequence number): ties in time are broken by the order
/// in which events were scheduled, never by heap order.
public struct EventQueue<Payload>: Sendable where Payload: Sendable {
    @frozen public struct Event: Comparable, Sendable {
        public var time: Int64
        public var sequence: Int64
        public var payload: Payload
        @inlinable public init(time: Int64, sequence: Int64, payload: Payload) { self.time = time; self.sequence = sequence; self.payload = payload }
        @inlinable public static func < (a: Event, b: Event) -> Bool { a.time != b.time ? a.time < b.time : a.sequence < b.sequence }
        @inlinable public static func == (a: Event, b: Event) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }

    // Inlinable: the simulator's hot loop lives in other modules and must get this specialized.
    @usableFromInline var heap = Heap<Event>()
    @usableFromInline var sequence: Int64 = 0

    @inlinable public init() {}

    @inlinable public var count: Int { heap.count }
    @inlinable public var isEmpty: Bool { heap.isEmpty }
    @inlinable public var nextTime: Int64? { heap.min?.time }

    @inlinable @inline(__always) public mutating func schedule(at time: Int64, _ payload: Payload) {
        sequence += 1
        heap.insert(Event(time: time, sequence: sequence, payload: payload))
    }

    @inlinable @inline(__always) public mutating func pop() -> Event? { heap.popMin() }
}
