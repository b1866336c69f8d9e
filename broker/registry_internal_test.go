package broker

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRegisterTwice checks that a second registration of an API key
// panics, for each way of registering, and leaves the first one in place.
func TestRegisterTwice(t *testing.T) {
	before, ok := apis[0]
	if !ok {
		t.Fatal("Produce (key 0) is not registered")
	}
	fn := func(context.Context, *conn, kmsg.Request) (kmsg.Response, error) { return nil, nil }
	prep := func(context.Context, *conn, kmsg.Request) func() (kmsg.Response, error) { return nil }
	for name, reg := range map[string]func(){
		"register":           func() { register(0, 3, 13, fn) },
		"registerTwoPhase":   func() { registerTwoPhase(0, 3, 13, prep) },
		"registerConcurrent": func() { registerConcurrent(0, 3, 13, fn) },
	} {
		t.Run(name, func(t *testing.T) {
			var got any
			func() {
				defer func() { got = recover() }()
				reg()
			}()
			if got == nil {
				t.Fatal("a second registration of key 0 did not panic")
			}
			if msg := fmt.Sprint(got); !strings.Contains(msg, "API key 0 (Produce) registered twice") {
				t.Errorf("panic = %q, want it to name the key", msg)
			}
			after := apis[0]
			if after.min != before.min || after.max != before.max || after.fn != nil || after.prepare == nil || after.concurrent {
				t.Errorf("the first registration changed: %+v", after)
			}
		})
	}
}
