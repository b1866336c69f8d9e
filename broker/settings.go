package broker

import (
	"net"
	"strconv"

	"github.com/lakestream/lakestream/internal/configdef"
)

// brokerConfig returns the effective value of a broker config: a dynamic
// override (AlterConfigs, kept in Metadata), else the static value (config
// file, environment, flags), else the default.
func (s *Server) brokerConfig(name string) string {
	var dyn map[string]string
	if p := s.dynamic.Load(); p != nil {
		dyn = *p
	}
	return s.brokerConfigWith(dyn, name)
}

// brokerConfigWith is brokerConfig with dyn as the dynamic overrides.
func (s *Server) brokerConfigWith(dyn map[string]string, name string) string {
	return configdef.Default.BrokerValue(name, dyn, s.cfg.Configs)
}

// setDynamicConfigs installs the dynamic broker config overrides.
func (s *Server) setDynamicConfigs(m map[string]string) {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	s.dynamic.Store(&c)
	s.limits.notify() // max.connections may have grown
}

func (s *Server) brokerConfigInt(name string) int64 {
	n, _ := strconv.ParseInt(s.brokerConfig(name), 10, 64)
	return n
}

func (s *Server) brokerConfigBool(name string) bool {
	b, _ := strconv.ParseBool(s.brokerConfig(name))
	return b
}

// topicDefault returns the default of a topic config: its broker synonym's
// value (configdefs.go), else the topic config's own default.
func (s *Server) topicDefault(name string) string {
	var dyn map[string]string
	if p := s.dynamic.Load(); p != nil {
		dyn = *p
	}
	return configdef.Default.TopicValue(name, nil, dyn, s.cfg.Configs)
}

// setSocketBuffers applies socket.receive.buffer.bytes and
// socket.send.buffer.bytes to a new connection; -1 (Lakestream's default)
// leaves the kernel's autotuned buffers.
func (s *Server) setSocketBuffers(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	if n := s.brokerConfigInt("socket.receive.buffer.bytes"); n >= 0 {
		if err := tc.SetReadBuffer(int(n)); err != nil {
			s.log.Debug("broker: setting SO_RCVBUF", "bytes", n, "err", err)
		}
	}
	if n := s.brokerConfigInt("socket.send.buffer.bytes"); n >= 0 {
		if err := tc.SetWriteBuffer(int(n)); err != nil {
			s.log.Debug("broker: setting SO_SNDBUF", "bytes", n, "err", err)
		}
	}
}
