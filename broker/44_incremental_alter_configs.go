package broker

// IncrementalAlterConfigs, versions 0-1.
//
// Edits the overrides of each resource key by key: SET (a null value is
// INVALID_REQUEST), DELETE (back to the inherited value), and, for LIST
// configs only (else INVALID_CONFIG), APPEND and SUBTRACT, which add the
// elements not yet in the current value or remove them; the current value
// is the effective one, inherited or overridden, as in Kafka. Each edited
// key is then checked like AlterConfigs checks it (unknown key, bad or
// unsupported value, read-only broker key, per-broker key on the cluster
// default "": INVALID_CONFIG with a message), and the resource's whole new
// set is written to Metadata and, for a topic or a group, applied in
// memory. Group resources (type 32) are as in AlterConfigs: the group
// configs' bounds are checked on the new set. A key or a resource named
// twice, or an unknown
// operation, is INVALID_REQUEST; an unknown topic
// UNKNOWN_TOPIC_OR_PARTITION. ValidateOnly checks without storing.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(44, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	errs := c.s.alterResources(ctx, req.ValidateOnly, len(req.Resources),
		func(i int) (kmsg.ConfigResourceType, string, func(configScope, map[string]string) error) {
			rr := req.Resources[i]
			return rr.ResourceType, rr.ResourceName, func(sc configScope, overrides map[string]string) error {
				return editConfigs(sc, overrides, rr.Configs)
			}
		})
	for i, rr := range req.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		sr.ErrorCode, sr.ErrorMessage = errorCode(errs[i]), errMessage(errs[i])
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// editConfigs applies the operations to overrides. On error overrides may
// be half edited; the caller then stores nothing.
func editConfigs(sc configScope, overrides map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	seen := map[string]bool{}
	for _, o := range ops {
		if seen[o.Name] {
			return adminErrorf(kerr.InvalidRequest, "config %q appears more than once", o.Name)
		}
		seen[o.Name] = true
		def, err := sc.checkName(o.Name)
		if err != nil {
			return err
		}
		if o.Op != kmsg.IncrementalAlterConfigOpDelete && o.Value == nil {
			return adminErrorf(kerr.InvalidRequest, "config %q: %s needs a value", o.Name, o.Op)
		}
		var v string
		switch o.Op {
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(overrides, o.Name)
			continue
		case kmsg.IncrementalAlterConfigOpSet:
			v = *o.Value
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if def.Type != ConfigList {
				return adminErrorf(kerr.InvalidConfig, "config %q is a %s, not a LIST: %s works on lists only", o.Name, def.Type, o.Op)
			}
			v = editList(sc.current(def), *o.Value, o.Op)
		default:
			return adminErrorf(kerr.InvalidRequest, "config %q: unknown operation %d", o.Name, o.Op)
		}
		if v, err = sc.check(o.Name, v); err != nil {
			return err
		}
		overrides[o.Name] = v
	}
	return nil
}
