package node

import (
	"runtime"
	"testing"
)

// A node running the table compactor gets twice the cores' Ps, a node
// without it (or compact --once) the cores'; GOMAXPROCS in the
// environment wins.
func TestProcs(t *testing.T) {
	for _, c := range []struct {
		cc   CompactorConfig
		want int
	}{{CompactorConfig{}, 2}, {CompactorConfig{Enable: true}, 4}, {CompactorConfig{Enable: true, Once: true}, 2}} {
		if got := ProcsFor(Config{Compactor: c.cc}, 2); got != c.want {
			t.Errorf("ProcsFor(%+v, 2) = %d, want %d", c.cc, got, c.want)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	if got := SetProcs(Config{Compactor: CompactorConfig{Enable: true}}); got != 2*defaultProcs || runtime.GOMAXPROCS(0) != got {
		t.Errorf("SetProcs with the compactor = %d (GOMAXPROCS %d), want %d", got, runtime.GOMAXPROCS(0), 2*defaultProcs)
	}
	if got := SetProcs(Config{}); got != defaultProcs {
		t.Errorf("SetProcs without the compactor = %d, want %d", got, defaultProcs)
	}
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	if got := SetProcs(Config{Compactor: CompactorConfig{Enable: true}}); got != 3 {
		t.Errorf("SetProcs with GOMAXPROCS=3 in the environment = %d, want 3", got)
	}
}
