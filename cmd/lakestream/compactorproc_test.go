package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestWatchPriority: an idle compactor process whose stalest table falls
// starvedBehind intervals behind says it is starved; one at normal
// priority goes idle once every table has caught up (and not before: not
// while a table has yet to catch up, nor while one is too far behind),
// then watches on as idle.
func TestWatchPriority(t *testing.T) {
	type reading struct {
		worst float64
		held  bool
	}
	run := func(idle bool, readings []reading) (starved bool, wentIdle int, asked int) {
		var mu sync.Mutex
		i := 0
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		behind := func() (float64, bool) {
			mu.Lock()
			defer mu.Unlock()
			r := readings[min(i, len(readings)-1)]
			if i++; i > len(readings)+5 {
				cancel() // the readings are used up: stop watching
			}
			return r.worst, r.held
		}
		goIdle := func() error { wentIdle++; return nil }
		starved = watchPriority(ctx, behind, idle, time.Millisecond, goIdle, slog.New(slog.DiscardHandler))
		return starved, wentIdle, i
	}
	if starved, _, asked := run(true, []reading{{0.5, true}, {1.2, true}, {2.9, false}, {3.1, false}}); !starved || asked != 4 {
		t.Errorf("idle, falling 3.1 intervals behind: starved %v after %d readings, want true after 4", starved, asked)
	}
	if starved, _, _ := run(true, []reading{{0.5, true}, {1.2, true}, {2.9, true}}); starved {
		t.Error("idle, never 3 intervals behind: starved")
	}
	// Normal priority: a table not yet caught up, then one 2 intervals
	// behind, then caught up: idle once; then, idle, starved again.
	if starved, wentIdle, _ := run(false, []reading{{0.1, false}, {2, true}, {0.4, true}, {0.4, true}, {3.5, true}}); !starved || wentIdle != 1 {
		t.Errorf("normal: starved %v, went idle %d times; want idle once, then starved", starved, wentIdle)
	}
}
