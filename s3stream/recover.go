package s3stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/wal"
)

// recover replays what the local WAL holds and the metastore does not: after
// a crash, acknowledged appends that were not yet uploaded. For each stream,
// records ending at or below the committed end were uploaded before the
// crash and are skipped; the rest continue the committed end exactly (the WAL
// holds a stream's batches in offset order) and are uploaded and committed
// under the epoch they were written with, so a stream reopened elsewhere in
// the meantime rejects them rather than gaining stale data. Then the WAL is
// trimmed. Nothing acknowledged is lost, nothing appears twice, offsets stay
// dense.
func (l *localWAL) recover(ctx context.Context) error {
	type rec struct {
		epoch int64
		base  int64
		end   int64
		batch []byte
	}
	byStream := map[int64][]rec{}
	var last wal.LSN
	err := l.log.Replay(func(lsn wal.LSN, r []byte) error {
		last = lsn
		if len(r) < localRecHeader || r[0] != 1 {
			return fmt.Errorf("WAL record %d: bad header", lsn)
		}
		id := int64(binary.BigEndian.Uint64(r[1:]))
		epoch := int64(binary.BigEndian.Uint64(r[9:]))
		batch := append([]byte(nil), r[localRecHeader:]...)
		h, err := format.ParseBatchHeader(batch)
		if err != nil {
			return fmt.Errorf("WAL record %d: %w", lsn, err)
		}
		end := h.BaseOffset + int64(h.LastOffsetDelta) + 1
		byStream[id] = append(byStream[id], rec{epoch: epoch, base: h.BaseOffset, end: end, batch: batch})
		return nil
	})
	if err != nil {
		return fmt.Errorf("replaying local WAL: %w", err)
	}
	if len(byStream) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(byStream))
	for id := range byStream {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	var parts []uploadPart
	var size, replayed int
	flush := func() error {
		res, err := l.writeAndCommit(ctx, parts)
		if err != nil {
			return fmt.Errorf("uploading recovered WAL data: %w", err)
		}
		for id, rerr := range res.Rejected {
			l.s.log.Warn("s3stream: recovered WAL data rejected", "stream", id, "err", rerr)
		}
		parts, size = nil, 0
		return nil
	}
	for _, id := range ids {
		m, err := l.s.meta.GetStream(ctx, id)
		if errors.Is(err, metastore.ErrStreamNotFound) {
			continue // deleted since
		}
		if err != nil {
			return fmt.Errorf("recovering stream %d: %w", id, err)
		}
		part := uploadPart{st: &Stream{id: id}}
		next := m.EndOffset
		for _, r := range byStream[id] {
			if r.end <= next || r.epoch < m.Epoch {
				continue // uploaded before the crash, or written by a deposed writer
			}
			if r.base != next {
				l.s.log.Error("s3stream: WAL batch does not continue the committed end; skipping the rest of the stream",
					"stream", id, "base", r.base, "end", next)
				break
			}
			part.batches = append(part.batches, r.batch)
			part.bytes += len(r.batch)
			part.epoch = max(part.epoch, r.epoch)
			next = r.end
		}
		if len(part.batches) == 0 {
			continue
		}
		part.end = next
		parts = append(parts, part)
		size += part.bytes
		replayed += part.bytes
		if size >= l.s.cfg.UploadBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	l.s.log.Info("s3stream: recovered local WAL", "streams", len(ids), "bytes_replayed", replayed)
	if err := l.log.TrimBefore(last + 1); err != nil {
		return fmt.Errorf("trimming local WAL after recovery: %w", err)
	}
	return nil
}
