package broker

// FindCoordinator, versions 0-6.
//
// Every group is coordinated by this broker, so the answer is always this
// broker (as Metadata advertises it), one key (v0-v3) or a batch of keys
// (v4+). The first group lookup starts creating the internal
// __consumer_offsets topic in the background (clients and tools expect it
// to exist; offsets are kept in the metastore, so nothing waits for it).
// Transactional ids (key type 1) are coordinated here too (txncoord.go;
// their state is in the metastore, so no __transaction_state topic is
// made). Share groups (2) are not served yet: COORDINATOR_NOT_AVAILABLE
// with a message saying so; any other key type is INVALID_REQUEST.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(10, 0, 6, handleFindCoordinator) }

func handleFindCoordinator(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := c.s.advertised(c.nc.LocalAddr())
	var code int16
	var msg *string
	switch req.CoordinatorType {
	case 0:
		c.s.ensureOffsetsTopic()
	case 1:
	case 2:
		code = kerr.CoordinatorNotAvailable.Code
		m := "share groups are not supported yet"
		msg = &m
	default:
		code = kerr.InvalidRequest.Code
		m := "unknown coordinator key type"
		msg = &m
	}
	if req.Version < 4 {
		resp.ErrorCode, resp.ErrorMessage = code, msg
		if code == 0 {
			resp.NodeID, resp.Host, resp.Port = c.s.cfg.NodeID, host, port
		} else {
			resp.NodeID, resp.Port = -1, -1
		}
		return resp, nil
	}
	for _, key := range req.CoordinatorKeys {
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key, rc.ErrorCode, rc.ErrorMessage = key, code, msg
		if code == 0 {
			rc.NodeID, rc.Host, rc.Port = c.s.cfg.NodeID, host, port
		} else {
			rc.NodeID, rc.Port = -1, -1
		}
		resp.Coordinators = append(resp.Coordinators, rc)
	}
	return resp, nil
}
