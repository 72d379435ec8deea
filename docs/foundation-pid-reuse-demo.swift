// Run as root: swiftc -O docs/foundation-pid-reuse-demo.swift -o /tmp/fdemo && /tmp/fdemo
// (README, "Processes, waits and hangs"). Prints within ~15 s whether a later Process exit was seen.
// Demonstrates the hang: Foundation's Process reaps with a blocking waitpid on its one manager thread once
// the child's inherited socket closes. If someone else reaped the child first and the pid was reused by a
// long-lived child, that waitpid blocks on the stranger, and no later Process exit is seen.
import Foundation
import Glibc

func now() -> Double { Date().timeIntervalSince1970 }
let t0 = now()
func log(_ s: String) { print(String(format: "%6.2f s  %@", now() - t0, s)); fflush(stdout) }

// A: a shell whose background child keeps Foundation's inherited descriptor for 2 s after A exits
// (as a zygote's descendants keep it after the zygote is killed).
let a = Process()
a.executableURL = URL(fileURLWithPath: "/bin/sh")
a.arguments = ["-c", "setsid sleep 2 & exit 0"]
try a.run()
let pidA = a.processIdentifier
usleep(300_000)
// Someone else reaps A (as Cgroup.destroy's kill-and-reap loop did).
var st: Int32 = 0
log("reaped A=\(pidA) ourselves: waitpid -> \(waitpid(pidA, &st, 0))")
// Pid reuse, forced: the next pid allocated is A's.
var b: pid_t = 0
let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
for _ in 0..<50 {  // other processes may take the pid first: retry
    try "\(pidA - 1)".write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
    posix_spawn(&b, "/bin/sleep", nil, nil, argv, environ)
    if b == pidA { break }
    kill(b, SIGKILL); waitpid(b, &st, 0)
}
log("a new long-lived child got pid \(b) (A's: \(b == pidA))")
// After 2 s the background sleep exits, Foundation sees EOF and calls waitpid(A) -> blocks on B.
sleep(3)
let c = Process()
c.executableURL = URL(fileURLWithPath: "/bin/true")
try c.run()
log("started C = /bin/true; waiting for it")
let done = DispatchSemaphore(value: 0)
DispatchQueue.global().async { c.waitUntilExit(); done.signal() }
if done.wait(timeout: .now() + 10) == .timedOut {
    log("C's exit not seen after 10 s: Foundation's manager thread is blocked in waitpid(\(pidA)) on B")
} else {
    log("C's exit seen")
}
kill(b, SIGKILL)
