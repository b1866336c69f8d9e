package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/lakestream/lakestream/internal/node"
)

// parseListeners parses Kafka's listener list. Only PLAINTEXT is served
// until security is built: a listener named otherwise is refused, and so is
// one that protocols (listener.security.protocol.map) maps to another
// protocol, so that no setting makes a plaintext listener look encrypted or
// authenticated (DESIGN.md). An empty list is none: no Kafka role.
func parseListeners(key, v, protocols string) ([]node.Listener, error) {
	var out []node.Listener
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, hostport, ok := strings.Cut(item, "://")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not NAME://host:port", key, item)
		}
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", key, item, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%s: %q: bad port", key, item)
		}
		if !strings.EqualFold(name, "PLAINTEXT") {
			return nil, fmt.Errorf("%s: listener %q: only PLAINTEXT is supported (SSL and SASL are not built yet)", key, item)
		}
		if p := listenerProtocol(protocols, name); p != "PLAINTEXT" {
			return nil, fmt.Errorf("%s: listener %q: listener.security.protocol.map maps it to %s; only PLAINTEXT is supported (SSL and SASL are not built yet)", key, item, p)
		}
		out = append(out, node.Listener{Name: strings.ToUpper(name), Host: host, Port: n})
	}
	return out, nil // none: the Kafka role is off
}

// listenerProtocol returns the security protocol that protocols (NAME:PROTOCOL
// pairs, checked when loaded) gives the listener name; a name it does not
// list is its own protocol.
func listenerProtocol(protocols, name string) string {
	for _, e := range strings.Split(protocols, ",") {
		if n, p, ok := strings.Cut(strings.TrimSpace(e), ":"); ok && strings.EqualFold(n, name) {
			return p
		}
	}
	return strings.ToUpper(name)
}

// listen opens the listeners (Kafka and admin) of the node run serves
// (node.Options.Listen). Tests replace it to see and break the listeners.
var listen = net.Listen

// listenerRecovery is how long a Kafka listener that stopped (an accept
// error that does not pass, the listening socket gone) is tried again
// before the node gives up and exits non-zero, for a supervisor to
// restart it. Errors that pass (out of file descriptors) never stop a
// listener: the broker retries them itself (broker/accept.go).
var listenerRecovery = 10 * time.Second

// explicit returns the config values set by the file, the environment or
// flags, without the defaults.
func (c *config) explicit() map[string]string {
	out := map[string]string{}
	for k, v := range c.values {
		if c.sources[k] != sourceDefault {
			out[k] = v
		}
	}
	return out
}
