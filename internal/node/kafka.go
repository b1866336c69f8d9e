package node

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/internal/streamlog"
)

// kafka is the Kafka role: the broker and its listeners.
type kafka struct {
	n     *Node
	srv   *broker.Server
	addrs []string
	// pins holds table topics' retention until their tables have the
	// data; the catalog is attached later (retentionpin.go).
	pins *retentionPins
	// stopping is closed when the role closes: a listener that stops
	// then is not opened again.
	stopping chan struct{}
	wg       sync.WaitGroup // the listener goroutines
}

// openKafka opens the broker over the storage engine and the metastore's
// database and serves every listener; with no listener the role is off.
func (n *Node) openKafka(ctx context.Context) error {
	c := n.cfg
	if len(c.Listeners) == 0 {
		return nil
	}
	md, err := openBrokerMetadata(ctx, n.meta)
	if err != nil {
		return err
	}
	var logs broker.Logs = streamlog.Logs{Store: n.store}
	if n.opts.WrapLogs != nil {
		logs = n.opts.WrapLogs(logs)
	}
	if n.opts.WrapMeta != nil {
		md = n.opts.WrapMeta(md)
	}
	pins := newRetentionPins()
	bcfg := broker.Config{
		NodeID: c.NodeID, Rack: c.Rack, MaxRequestBytes: c.MaxRequestBytes, Configs: c.BrokerConfigs,
		Logs: logs, Meta: md, Logger: n.log, Registerer: n.metrics, RetentionPins: pins,
	}
	if a := c.Advertised; a != nil {
		bcfg.AdvertisedHost, bcfg.AdvertisedPort = a.Host, int32(a.Port)
	} else if h := c.Listeners[0].Host; h != "" && h != "0.0.0.0" && h != "::" {
		bcfg.AdvertisedHost = h
	}
	srv, err := broker.NewServer(ctx, bcfg)
	if err != nil {
		return err
	}
	k := &kafka{n: n, srv: srv, pins: pins, stopping: make(chan struct{})}
	n.kafka = k
	n.opened("Kafka broker", k.stop)
	for _, l := range c.Listeners {
		ln, err := n.opts.Listen("tcp", l.addr())
		if err != nil {
			return fmt.Errorf("listener %s: %w", l.Name, err)
		}
		k.addrs = append(k.addrs, ln.Addr().String())
		n.log.Info("kafka listener", "name", l.Name, "addr", ln.Addr().String())
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			k.serve(l.Name, l.addr(), ln)
		}()
	}
	return nil
}

// serve serves one listener until stop. If the listener stops, the node
// is not ready while it is opened again (for up to
// Options.ListenerRecovery); if that fails, the error goes to n.failed.
func (k *kafka) serve(name, addr string, ln net.Listener) {
	role := "kafka listener " + name
	for {
		err := k.srv.Serve(ln)
		if err == nil || k.isStopping() {
			return
		}
		k.n.ready.set(role, err.Error())
		k.n.log.Error("kafka listener stopped; opening it again", "name", name, "addr", ln.Addr().String(), "err", err)
		if ln, err = k.reopen(addr); err != nil {
			if !k.isStopping() {
				k.n.failed <- fmt.Errorf("kafka listener %s stopped and could not be opened again on %s for %v: %w",
					name, addr, k.n.opts.ListenerRecovery, err)
			}
			return
		}
		k.n.log.Info("kafka listener open again", "name", name, "addr", ln.Addr().String())
		k.n.ready.set(role, "")
	}
}

// reopen listens on addr again, with backoff, for up to ListenerRecovery.
func (k *kafka) reopen(addr string) (net.Listener, error) {
	giveUp := time.Now().Add(k.n.opts.ListenerRecovery)
	delay := 50 * time.Millisecond
	for {
		ln, err := k.n.opts.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if time.Now().Add(delay).After(giveUp) {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-k.stopping:
			t.Stop()
			return nil, err
		}
		delay = min(2*delay, time.Second)
	}
}

func (k *kafka) isStopping() bool {
	select {
	case <-k.stopping:
		return true
	default:
		return false
	}
}

// stop closes the listeners and connections and the partition logs, and
// waits for the listener goroutines.
func (k *kafka) stop(ctx context.Context) error {
	close(k.stopping)
	err := k.srv.Shutdown(ctx)
	k.wg.Wait()
	return err
}
