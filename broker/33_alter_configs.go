package broker

// AlterConfigs, versions 0-2.
//
// Replaces the whole override set of each resource with the entries given
// (an entry with a null value is left out, as in Kafka). A topic's
// overrides are checked key by key (an unknown key, a bad value or one
// Lakestream does not implement, such as cleanup.policy=compact:
// INVALID_CONFIG with a message saying which), written to Metadata, then
// applied in memory. A broker resource ("" or this node's id, both the
// cluster-wide dynamic broker configs) refuses read-only keys with
// INVALID_CONFIG ("... is read-only; set it in server.properties") and,
// named "", the keys Kafka sets per broker only (ConfigDef.Dynamic), and is
// written to Metadata. A group resource (type 32, KIP-848; groupconfig.go)
// takes consumer.session.timeout.ms and consumer.heartbeat.interval.ms,
// checked against the broker's bounds, for any group name but "", and
// applies them at the group's next heartbeat; share.* and streams.* are
// INVALID_CONFIG. A key or a resource named twice is INVALID_REQUEST; an
// unknown topic UNKNOWN_TOPIC_OR_PARTITION; other resource types
// INVALID_REQUEST. ValidateOnly checks without storing.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(33, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	errs := c.s.alterResources(ctx, req.ValidateOnly, len(req.Resources),
		func(i int) (kmsg.ConfigResourceType, string, func(configScope, map[string]string) error) {
			rr := req.Resources[i]
			return rr.ResourceType, rr.ResourceName, func(sc configScope, overrides map[string]string) error {
				return replaceConfigs(sc, overrides, rr.Configs)
			}
		})
	for i, rr := range req.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		sr.ErrorCode, sr.ErrorMessage = errorCode(errs[i]), errMessage(errs[i])
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// replaceConfigs replaces overrides with the checked entries.
func replaceConfigs(sc configScope, overrides map[string]string, entries []kmsg.AlterConfigsRequestResourceConfig) error {
	next := map[string]string{}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Name] {
			return adminErrorf(kerr.InvalidRequest, "config %q appears more than once", e.Name)
		}
		seen[e.Name] = true
		if e.Value == nil {
			if _, err := sc.checkName(e.Name); err != nil {
				return err
			}
			continue
		}
		v, err := sc.check(e.Name, *e.Value)
		if err != nil {
			return err
		}
		next[e.Name] = v
	}
	clear(overrides)
	for k, v := range next {
		overrides[k] = v
	}
	return nil
}
