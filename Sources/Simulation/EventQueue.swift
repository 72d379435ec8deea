import HeapModule

/// The simulator's future events, ordered by (time, sequence number): ties in time are broken by the order
/// in which events were scheduled, never by heap order.
public struct EventQueue<Payload>: Sendable where Payload: Sendable {
    public struct Event: Comparable, Sendable {
        public var time: Int64
        public var sequence: Int64
        public var payload: Payload
        public static func < (a: Event, b: Event) -> Bool { a.time != b.time ? a.time < b.time : a.sequence < b.sequence }
        public static func == (a: Event, b: Event) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }

    var heap = Heap<Event>()
    var sequence: Int64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    public var nextTime: Int64? { heap.min?.time }

    @inline(__always) public mutating func schedule(at time: Int64, _ payload: Payload) {
        sequence += 1
        heap.insert(Event(time: time, sequence: sequence, payload: payload))
    }

    @inline(__always) public mutating func pop() -> Event? { heap.popMin() }
}
