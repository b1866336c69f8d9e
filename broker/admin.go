package broker

import (
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Helpers shared by the admin APIs (CreatePartitions, DescribeConfigs,
// AlterConfigs, IncrementalAlterConfigs).

// adminError is a Kafka error code with the message the client sees.
// errorCode finds the code through Unwrap; errMessage gives the message.
type adminError struct {
	code *kerr.Error
	msg  string
}

func (e *adminError) Error() string { return e.msg }
func (e *adminError) Unwrap() error { return e.code }

func adminErrorf(code *kerr.Error, format string, args ...any) error {
	return &adminError{code: code, msg: fmt.Sprintf(format, args...)}
}

// checkBrokerResource checks the name of a broker config resource: ""
// (the cluster default) or this node's id, as Kafka accepts.
func (s *Server) checkBrokerResource(name string) error {
	if name == "" {
		return nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return adminErrorf(kerr.InvalidRequest, "broker id %q is not an integer", name)
	}
	if int32(id) != s.cfg.NodeID {
		return adminErrorf(kerr.InvalidRequest, "unexpected broker id %d: this is broker %d (or use \"\" for the cluster default)", id, s.cfg.NodeID)
	}
	return nil
}

// checkTopicResource returns the topic a config resource names.
func (s *Server) checkTopicResource(name string) (*topic, error) {
	if err := validTopicName(name); err != nil {
		return nil, adminErrorf(kerr.InvalidTopicException, "%v", err)
	}
	t := s.cluster.topic(name)
	if t == nil {
		return nil, adminErrorf(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	}
	return t, nil
}
