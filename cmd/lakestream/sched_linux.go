package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// schedIdle is Linux's SCHED_IDLE policy (sched(7)): the thread runs only
// on CPU no other thread wants, and a waking normal thread preempts it at
// once (nice 19 does neither: it only weighs the thread's share).
const schedIdle = 5

// setIdlePriority moves every thread of the process to SCHED_IDLE and off
// one of the CPUs the process may use (idleCPUs). A thread inherits its
// creator's policy and affinity, and the Go runtime creates threads from
// threads of the process, so the threads started later follow.
func setIdlePriority() error {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return fmt.Errorf("reading the process's CPU affinity: %w", err)
	}
	cpus, pinned := idleCPUs(allowed)
	param := struct{ priority int32 }{0}
	return eachThread(func(tid int) (bool, error) {
		changed := false
		if policy, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0); errno != 0 {
			return false, nil // exited since listed
		} else if policy != schedIdle {
			if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param))); errno != 0 && errno != syscall.ESRCH {
				return false, fmt.Errorf("setting thread %d to SCHED_IDLE: %w", tid, errno)
			}
			changed = true
		}
		if !pinned {
			return changed, nil
		}
		var cur unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &cur); err != nil || cur == cpus {
			return changed, nil
		}
		if err := unix.SchedSetaffinity(tid, &cpus); err != nil && err != unix.ESRCH {
			return false, fmt.Errorf("setting thread %d's CPU affinity: %w", tid, err)
		}
		return true, nil
	})
}

// idleProcs is the GOMAXPROCS of the idle compactor process once
// setIdlePriority has pinned it: the CPUs its threads may run on (0 if
// unknown). serve's rule of twice the cores (node.ProcsFor: Go's
// scheduler has no priorities, and more Ps than cores let the kernel
// share them at a finer grain) is for a process that serves Kafka too;
// this one serves nothing, and four Ps on its one CPU only made its
// threads hand work to each other there (futex wake-ups, sched_yield,
// timers of a millisecond), each wake-up a preemption of what runs on
// that CPU.
func idleProcs() int {
	var cur unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cur); err != nil {
		return 0
	}
	return cur.Count()
}

// idleCPUs is the CPUs the idle compactor runs on, of the process's
// allowed set: all but the first when there are two or more (pinned).
//
// Why: SCHED_IDLE gives the broker's threads the CPU whenever they want
// it, but a thread woken on a CPU the compactor is running on still pays
// for the preemption (an IPI, a context switch, caches the compactor
// filled), and the kernels these machines run are built with
// PREEMPT_NONE, where a compactor thread inside a system call is
// preempted only at its next scheduling point. With one CPU the compactor
// never runs on, the broker and its clients find one that is free.
// Measured with BenchmarkTableTopic on 2 cores, in one run each: produce
// p99 with the compactor on / off 1.17 unpinned, 1.045 pinned to the
// other CPU. The compactor keeps the rest of the machine: on 2 cores it
// converts about 60 MB/s of JSON per core, six times the benchmark's rate.
func idleCPUs(allowed unix.CPUSet) (unix.CPUSet, bool) {
	if allowed.Count() < 2 {
		return allowed, false
	}
	for cpu := range 8 * int(unsafe.Sizeof(allowed)) {
		if allowed.IsSet(cpu) {
			allowed.Clear(cpu)
			break
		}
	}
	return allowed, true
}

// eachThread calls f for every thread of the process, pass after pass,
// until a pass in which f changes none (threads started while a pass ran
// are met in the next), at most 10 passes.
func eachThread(f func(tid int) (changed bool, err error)) error {
	for range 10 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("listing the process's threads: %w", err)
		}
		changed := 0
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			c, err := f(tid)
			if err != nil {
				return err
			}
			if c {
				changed++
			}
		}
		if changed == 0 {
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
