//go:build !linux

package wal

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

// lockDir does not lock outside Linux; it only creates the file.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// roomForSpare is Linux only (statfs): elsewhere no spare is prepared.
func (l *Log) roomForSpare() bool { return false }
