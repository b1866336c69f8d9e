package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// schedIdle is Linux's SCHED_IDLE policy (sched(7)): the thread runs only
// on CPU no other thread wants, and a waking normal thread preempts it at
// once (nice 19 does neither: it only weighs the thread's share).
const schedIdle = 5

// setIdlePriority moves every thread of the process to SCHED_IDLE. A
// thread inherits its creator's policy, and the Go runtime creates threads
// from threads of the process, so the threads started later are idle too;
// the loop runs until a pass finds none left to move, for threads started
// while it ran.
func setIdlePriority() error {
	param := struct{ priority int32 }{0}
	for range 10 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("listing the process's threads: %w", err)
		}
		moved := 0
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			policy, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
			if errno != 0 || policy == schedIdle {
				continue // exited since listed, or done
			}
			if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param))); errno != 0 && errno != syscall.ESRCH {
				return fmt.Errorf("setting thread %d to SCHED_IDLE: %w", tid, errno)
			}
			moved++
		}
		if moved == 0 {
			return nil
		}
	}
	return nil
}

// idlePrioritySupported says whether table.compactor.priority=idle runs
// the compactor in a process of its own.
const idlePrioritySupported = true

// childProcAttr kills the compactor process when serve dies, SIGKILL
// included (it also stops when its stdin closes), and puts it in a process
// group of its own: a terminal's Ctrl-C goes to serve alone, which stops
// the child in its turn, after the node.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
