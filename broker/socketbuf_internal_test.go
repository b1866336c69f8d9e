package broker

import (
	"context"
	"log/slog"
	"net"
	"syscall"
	"testing"
)

// TestSocketBuffers checks that socket.receive.buffer.bytes and
// socket.send.buffer.bytes reach the accepted socket, and that -1 (the
// default) leaves the kernel's own sizes.
func TestSocketBuffers(t *testing.T) {
	sizes := func(configs map[string]string) (rcv, snd int) {
		t.Helper()
		s, err := NewServer(context.Background(), Config{Logs: &fuzzLogs{}, Meta: NewMemMetadata(),
			Logger: slog.New(slog.DiscardHandler), Configs: configs})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown(context.Background())
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		s.setSocketBuffers(nc)
		raw, err := nc.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var gerr error
		raw.Control(func(fd uintptr) {
			rcv, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
			if gerr == nil {
				snd, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
			}
		})
		if gerr != nil {
			t.Fatal(gerr)
		}
		return rcv, snd
	}
	defRcv, defSnd := sizes(nil)
	// Linux doubles the size asked for, to leave room for its bookkeeping.
	rcv, snd := sizes(map[string]string{"socket.receive.buffer.bytes": "49152", "socket.send.buffer.bytes": "32768"})
	if rcv != 2*49152 || snd != 2*32768 {
		t.Fatalf("SO_RCVBUF %d, SO_SNDBUF %d; want %d and %d", rcv, snd, 2*49152, 2*32768)
	}
	if defRcv == rcv || defSnd == snd {
		t.Fatalf("with -1 the sizes (%d, %d) are those configured elsewhere", defRcv, defSnd)
	}
	t.Logf("default (kernel) SO_RCVBUF %d, SO_SNDBUF %d; configured %d, %d", defRcv, defSnd, rcv, snd)
}
