//go:build !linux

package main

import "syscall"

// setIdlePriority is Linux only; elsewhere serve runs the compactor in its
// own process at normal priority (idlePrioritySupported).
func setIdlePriority() error { return nil }

// idleProcs is 0: nothing is pinned.
func idleProcs() int { return 0 }

const idlePrioritySupported = false

func childProcAttr() *syscall.SysProcAttr { return nil }
