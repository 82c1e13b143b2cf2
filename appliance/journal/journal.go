// Package journal records every inspection in one bbolt file before it is
// published: the verdict, its scores and image embedding, a JPEG of the
// parts worth keeping, per-minute and per-hour counters, and the outbox the
// MQTT link publishes from. One writer goroutine commits a batch per flush
// interval, synced to disk, so a crash loses at most the open batch. A full
// disk degrades it rather than stopping the line (degraded.go).
package journal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/boltfile"
	"github.com/linesight/linesight/pipeline/inspect"
)

// FileName is the journal's file in the data directory; images go in
// the ImagesDir folder beside it.
const (
	FileName  = "journal.db"
	ImagesDir = "images"
)

// What happens to a new verdict when the outbox is full; the values are
// those of the mqtt.outbox_full setting.
const (
	OutboxDropOldest = "drop_oldest" // drop the oldest entry, counted and logged
	OutboxRefuse     = "refuse"      // journal the record but do not queue it
)

// Why a journaled verdict was never published, in Record.OutboxDropped.
const (
	DroppedExpired = "expired"     // it waited longer than the outbox's max age
	DroppedFull    = "outbox_full" // drop_oldest made room for a newer verdict
	DroppedRefused = "refused"     // the outbox was full and refuses new entries
)

// Default options.
const (
	DefaultFlushInterval    = 200 * time.Millisecond
	DefaultJPEGQuality      = 85
	DefaultMaxPending       = 8192
	DefaultUnjournaledLimit = 10000
	// DefaultOutboxMaxAge is also mqtt.outbox_max_age's default (see
	// docs/mqtt.md for why it is short).
	DefaultOutboxMaxAge = time.Minute
)

// Options configure a journal; Open fills zero values with the defaults.
type Options struct {
	// Dir is the data directory.
	Dir string
	// FlushInterval is the longest a verdict waits to be committed and synced.
	FlushInterval time.Duration
	// MaxBytes caps the file and the images together (0: no cap); MaxAge
	// expires records (0: never).
	MaxBytes int64
	MaxAge   time.Duration
	// KeepPassImages keeps the image of 1 in N PASS verdicts per camera (0:
	// none); FAIL and UNCERTAIN verdicts always keep theirs.
	KeepPassImages int
	JPEGQuality    int
	ImageMaxSide   int // 0: as captured
	// NoOutbox queues nothing: no MQTT link is configured, so a verdict
	// is journaled only. Entries left by an earlier run still expire.
	NoOutbox bool
	// OutboxLimit caps undelivered verdicts (0: no cap); OutboxFull is
	// OutboxDropOldest (the default) or OutboxRefuse.
	OutboxLimit int
	OutboxFull  string
	// OutboxMaxAge is how long a verdict may wait for the broker; older
	// entries are never returned by Pending and are purged, their records
	// marked DroppedExpired (0: DefaultOutboxMaxAge).
	OutboxMaxAge time.Duration
	// Queue is how many records may wait for the writer before Write blocks.
	Queue int
	// MaxPending caps the records held in memory while commits fail (a
	// full disk); beyond it the oldest are dropped from the journal,
	// counted in Stats.NotJournaled. Their verdicts have already been
	// handed to the MQTT link by then.
	MaxPending int
	// DiskReserve is the free space kept on the data directory's file
	// system, so that a commit always has room: below it, retention evicts
	// images (PASS first), then turns the oldest records over (0: 5% of
	// the file system, between 1 MB and 256 MB; negative: none).
	DiskReserve int64
	// UnjournaledLimit caps the verdicts that could not be committed and
	// wait, in memory, for the MQTT link; beyond it the oldest are dropped
	// and counted.
	UnjournaledLimit int
	// ReadOnly opens the file for queries only (the CLI); it needs no
	// writer and shares the file with other readers.
	ReadOnly bool
	Log      *slog.Logger
	// Now is the clock for retention; tests set it.
	Now func() time.Time
}

// Stats are the journal's counters since it was opened.
type Stats struct {
	Written       uint64 `json:"written"`        // records committed
	Flushes       uint64 `json:"flushes"`        // transactions committed
	LastID        uint64 `json:"last_id"`        // highest committed record id
	ImagesKept    uint64 `json:"images_kept"`    // image files written
	ImageErrors   uint64 `json:"image_errors"`   // images that could not be encoded or written
	Expired       uint64 `json:"expired"`        // records older than max_age removed
	EvictedPass   uint64 `json:"evicted_pass"`   // PASS images removed for the size cap
	EvictedKept   uint64 `json:"evicted_kept"`   // FAIL/UNCERTAIN images removed for the size cap
	OutboxDropped uint64 `json:"outbox_dropped"` // oldest entries dropped (drop_oldest)
	OutboxRefused uint64 `json:"outbox_refused"` // records not queued (refuse)
	OutboxExpired uint64 `json:"outbox_expired"` // entries older than the outbox's max age, purged unpublished
	// OutboxLastExpired is when entries last expired; zero if none has.
	OutboxLastExpired time.Time `json:"outbox_last_expired,omitzero"`
	FlushErrors       uint64    `json:"flush_errors"`
	// EvictedRecords are the oldest records removed to keep the disk's
	// reserve free.
	EvictedRecords uint64 `json:"evicted_records"`
	// Unjournaled counts verdicts handed to the MQTT link without being
	// committed, while commits failed; UnjournaledDropped those of them
	// dropped because the link did not take them in time.
	Unjournaled        uint64 `json:"unjournaled"`
	UnjournaledDropped uint64 `json:"unjournaled_dropped"`
	// NotJournaled counts records never committed: dropped beyond
	// MaxPending while commits failed, or left at Close.
	NotJournaled uint64 `json:"not_journaled"`
	// Held is the number of records waiting to be committed now.
	Held int `json:"held"`
}

// Journal is an open journal. Write is for one goroutine (the sink's); the
// queries, the outbox methods and Stats are safe for concurrent use.
type Journal struct {
	opts      Options
	path      string
	imagesDir string
	db        *bolt.DB
	log       *slog.Logger

	nextID   atomic.Uint64 // ids handed out by Write
	passSeen map[string]int

	in      chan *pending
	closeMu sync.RWMutex
	closed  bool
	done    chan struct{}

	notify       chan struct{}
	lastRetainAt atomic.Pointer[time.Time]
	// Owned by the writer: expiries not yet logged, and when they last were.
	expiredUnlogged int
	expiredLoggedAt time.Time

	quarantined *Quarantine // set aside by Open

	// imagesFailing is owned by Write: set while images cannot be stored,
	// so a full disk logs once, not once per image.
	imagesFailing  bool
	imagesSkipped  int
	reserve        int64 // free bytes kept on the file system; 0: none
	side           unjournaled
	chunk          int   // owned by the writer: records per transaction, halved on failure
	ringCredit     int   // owned by the writer: records removed for room not yet refilled
	lastUsed       int64 // owned by the writer: the file's pages in use at the last flush
	failing        bool  // owned by the writer: the last commit failed
	short          bool  // owned by the writer: the disk is below its reserve
	failingSince   time.Time
	failedFlushes  int
	stateMu        sync.Mutex
	degradedReason string

	mu       sync.Mutex
	stats    Stats
	outboxN  int                  // committed outbox entries
	acks     map[uint64]time.Time // acked, not yet committed
	applying map[uint64]time.Time // acks in the transaction being committed
}

// Open opens or creates the journal in opts.Dir, migrating an older schema
// and refusing a newer one, and starts its writer unless ReadOnly.
func Open(opts Options) (*Journal, error) {
	opts = withDefaults(opts)
	j := &Journal{
		opts:      opts,
		path:      filepath.Join(opts.Dir, FileName),
		imagesDir: filepath.Join(opts.Dir, ImagesDir),
		log:       opts.Log.With("component", "journal"),
		passSeen:  map[string]int{},
		notify:    make(chan struct{}, 1),
		acks:      map[uint64]time.Time{},
		done:      make(chan struct{}),
	}
	if opts.ReadOnly {
		if _, err := os.Stat(j.path); err != nil {
			return nil, fmt.Errorf("open journal: %w", err)
		}
	} else if err := os.MkdirAll(j.imagesDir, 0o755); err != nil {
		return nil, fmt.Errorf("create journal folder: %w", err)
	}
	// bbolt maps the file and trusts it: a truncated or garbled file makes
	// it fault or panic, so the file is checked first. The appliance sets a
	// damaged journal aside and starts a new one; the CLI, read-only, says
	// what is wrong. The appliance also reads every page of a file up to
	// deepCheckMax (about 3 s a GiB from the page cache), so its writer
	// never meets a bad page; queries meet them as errors, not crashes.
	// The check holds bbolt's lock: a file another process writes is never
	// judged, nor set aside, half-written.
	release, err := boltfile.Lock(j.path, !opts.ReadOnly, 2*time.Second)
	if errors.Is(err, boltfile.ErrLocked) {
		return nil, fmt.Errorf("open journal %s: another process (a running appliance?) holds it", j.path)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", j.path, err)
	}
	err = checkFile(j.path, !opts.ReadOnly, j.log)
	if err != nil && !opts.ReadOnly && isDamage(err) {
		err = j.quarantine(err)
	} else if err != nil {
		err = fmt.Errorf("open journal: %w%s", err, damageHint(err))
	}
	release()
	if err != nil {
		return nil, err
	}
	err = j.openDB()
	if isDamage(err) && !opts.ReadOnly && j.quarantined == nil {
		// Damage bbolt found that the check did not.
		if err := j.quarantine(err); err != nil {
			return nil, err
		}
		err = j.openDB()
	}
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, damageHint(err))
	}
	if opts.ReadOnly {
		close(j.done)
		return j, nil
	}
	j.db.View(func(tx *bolt.Tx) error { j.lastUsed = tx.Size(); return nil })
	j.side.limit = opts.UnjournaledLimit
	j.chunk = maxBatch
	j.reserve = j.diskReserve()
	j.in = make(chan *pending, opts.Queue)
	go j.run()
	return j, nil
}

// openDB opens the file with bbolt and prepares it, turning bbolt's panics
// and faults on a damaged file into errors.
func (j *Journal) openDB() error {
	var db *bolt.DB
	err := j.guard(func() (err error) {
		db, err = bolt.Open(j.path, 0o644, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: j.opts.ReadOnly,
			FreelistType: bolt.FreelistMapType})
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("open journal %s: another process (a running appliance?) holds it", j.path)
	}
	if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) {
		err = &boltfile.Damage{Path: j.path, Reason: err.Error()}
	}
	if err != nil {
		return fmt.Errorf("open journal %s: %w", j.path, err)
	}
	j.db = db
	if err := j.guard(j.prepare); err != nil {
		db.Close()
		return err
	}
	return nil
}

// damageHint tells what to do with a damaged journal.
func damageHint(err error) string {
	if !isDamage(err) {
		return ""
	}
	return "; `linesight journal check` tells more and `linesight journal recover` copies out what is readable"
}

func withDefaults(o Options) Options {
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.JPEGQuality <= 0 {
		o.JPEGQuality = DefaultJPEGQuality
	}
	if o.OutboxFull == "" {
		o.OutboxFull = OutboxDropOldest
	}
	if o.OutboxMaxAge <= 0 {
		o.OutboxMaxAge = DefaultOutboxMaxAge
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.UnjournaledLimit <= 0 {
		o.UnjournaledLimit = DefaultUnjournaledLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// prepare checks or migrates the schema and loads what the writer keeps in
// memory: the last id and the outbox length; it removes image files that
// no record refers to.
func (j *Journal) prepare() error {
	if j.opts.ReadOnly {
		return j.db.View(func(tx *bolt.Tx) error {
			v, err := schemaVersion(tx)
			if err != nil {
				return fmt.Errorf("%s: %w", j.path, err)
			}
			if err := checkVersion(j.path, v); err != nil {
				return err
			}
			if v < SchemaVersion {
				return fmt.Errorf("%s has schema version %d: open it once with the appliance (linesight run) to migrate it to %d", j.path, v, SchemaVersion)
			}
			j.load(tx)
			return nil
		})
	}
	known := map[string]bool{}
	err := j.db.Update(func(tx *bolt.Tx) error {
		migrated, err := prepareSchema(tx, j.path)
		if err != nil {
			return err
		}
		if migrated {
			j.log.Info("journal migrated", "path", j.path, "schema", SchemaVersion)
		}
		j.load(tx)
		return tx.Bucket(bucketImages).ForEach(func(_, v []byte) error {
			_, p := decodeImageValue(v)
			known[p] = true
			return nil
		})
	})
	if err != nil {
		return err
	}
	n, err := sweepOrphans(j.imagesDir, known)
	if err != nil {
		return fmt.Errorf("remove unreferenced images: %w", err)
	}
	if n > 0 {
		j.log.Info("removed images of uncommitted records", "files", n)
	}
	return nil
}

func (j *Journal) load(tx *bolt.Tx) {
	last := tx.Bucket(bucketRecords).Sequence()
	j.nextID.Store(last)
	j.stats.LastID = last
	j.outboxN = tx.Bucket(bucketOutbox).Stats().KeyN
}

// Path is the journal file.
func (j *Journal) Path() string { return j.path }

// Name implements inspect.Sink.
func (j *Journal) Name() string { return "journal" }

var errClosed = errors.New("journal closed")

// Write prepares a verdict's record (and its image, while the frame is
// valid) and hands it to the writer. It blocks only while the writer's
// queue is full, which is what a lossless sink wants.
func (j *Journal) Write(ctx context.Context, r *inspect.Result) error {
	id := j.nextID.Add(1)
	v := r.Verdict
	var rel string
	var size int64
	if r.Frame != nil && j.keepImage(&v) {
		rel = imagePath(recordTime(&v), v.Camera, id)
		data, err := encodeJPEG(r.Frame, j.opts.ImageMaxSide, j.opts.JPEGQuality)
		if err == nil {
			err = writeImage(j.imagesDir, rel, data)
		}
		if err != nil {
			if !j.imagesFailing {
				j.log.Error("images cannot be stored; the records are kept without them until this clears",
					"camera", v.Camera, "seq", v.Seq, "err", err)
			}
			j.imagesFailing = true
			j.imagesSkipped++
			j.count(func(s *Stats) { s.ImageErrors++ })
			rel = ""
		} else {
			if j.imagesFailing {
				j.log.Info("images are stored again", "skipped", j.imagesSkipped)
				j.imagesFailing, j.imagesSkipped = false, 0
			}
			size = int64(len(data))
			j.count(func(s *Stats) { s.ImagesKept++ })
		}
	}
	p, err := newPending(id, v, rel, size)
	if err != nil {
		return err
	}
	if p.anomalyMap, err = encodeAnomalyMap(v.Anomaly, r.Frame, j.opts.ImageMaxSide); err != nil {
		return err
	}
	if j.opts.NoOutbox {
		p.noOutbox = true
	} else if err = p.queue(v, j.opts.Now()); err != nil {
		return err
	}
	return j.enqueue(ctx, p)
}

func (j *Journal) enqueue(ctx context.Context, p *pending) error {
	j.closeMu.RLock()
	defer j.closeMu.RUnlock()
	if j.closed {
		return errClosed
	}
	select {
	case j.in <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sync commits the records written so far now, instead of at the next
// flush interval, and returns once they are on disk (and in the outbox), or
// the commit failed. A stopping appliance calls it after the loop has
// drained, before the MQTT link publishes its last verdicts.
func (j *Journal) Sync(ctx context.Context) error {
	if j.opts.ReadOnly {
		return errors.New("sync journal: opened read-only")
	}
	done := make(chan error, 1)
	if err := j.enqueue(ctx, &pending{synced: done}); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("sync journal: %w", ctx.Err())
	}
}

// keepImage samples PASS images 1 in KeepPassImages per camera and keeps
// every FAIL and UNCERTAIN one.
func (j *Journal) keepImage(v *defects.Verdict) bool {
	switch v.Outcome {
	case defects.Fail, defects.Uncertain:
		return true
	case defects.Pass:
		if j.opts.KeepPassImages <= 0 {
			return false
		}
		n := j.passSeen[v.Camera]
		j.passSeen[v.Camera] = n + 1
		return n%j.opts.KeepPassImages == 0
	}
	return false
}

// Close stops accepting records, commits what is queued and closes the file.
func (j *Journal) Close() error {
	j.closeMu.Lock()
	wasClosed := j.closed
	j.closed = true
	if !wasClosed && j.in != nil {
		close(j.in)
	}
	j.closeMu.Unlock()
	if wasClosed {
		return nil
	}
	<-j.done
	if n := j.side.len(); n > 0 {
		j.log.Error("journal closed with verdicts neither journaled nor published", "verdicts", n)
	}
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	return nil
}

// Stats returns the counters.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	st := j.stats
	j.mu.Unlock()
	j.side.mu.Lock()
	st.Unjournaled, st.UnjournaledDropped = j.side.added, j.side.dropped
	st.OutboxExpired += j.side.expired
	if j.side.lastExpired.After(st.OutboxLastExpired) {
		st.OutboxLastExpired = j.side.lastExpired
	}
	j.side.mu.Unlock()
	return st
}

func (j *Journal) count(f func(*Stats)) {
	j.mu.Lock()
	f(&j.stats)
	j.mu.Unlock()
}

// maxBatch is how many records make the writer flush before the interval
// ends, and the most one transaction holds. After a failed commit a
// transaction holds at most commitChunk records, halving with each further
// failure down to one, so that a little freed space lets commits make
// progress again; each success doubles it back.
const (
	maxBatch    = 4096
	commitChunk = 256
)

// run is the writer: it gathers records and commits them once per flush
// interval (or when a batch is full), and applies acks and retention in the
// same transaction. While commits fail it retries once per interval.
func (j *Journal) run() {
	defer close(j.done)
	tick := time.NewTicker(j.opts.FlushInterval)
	defer tick.Stop()
	var batch []*pending
	for {
		select {
		case p, ok := <-j.in:
			if !ok {
				j.flushAll(batch)
				return
			}
			if p.synced != nil {
				batch = j.flush(batch)
				if len(batch) > 0 {
					p.synced <- fmt.Errorf("journal: %d records not committed yet; retrying at the next interval", len(batch))
				} else {
					p.synced <- nil
				}
				continue
			}
			batch = j.hold(batch, p)
			if len(batch) < min(maxBatch, j.opts.MaxPending) || j.failing {
				continue
			}
		case <-tick.C:
		}
		batch = j.flush(batch)
	}
}

// hold adds a record to those waiting for a commit. While commits fail,
// its verdict goes to the link at once, and the batch is kept within
// MaxPending by dropping its oldest records from the journal.
func (j *Journal) hold(batch []*pending, p *pending) []*pending {
	batch = append(batch, p)
	if j.failing {
		j.bypass(p)
		// Every record held now has had its verdict handed on.
		if over := len(batch) - j.opts.MaxPending; over > 0 {
			j.drop(batch[:over])
			batch = append(batch[:0:0], batch[over:]...)
		}
	}
	j.setHeld(len(batch))
	return batch
}

// bypass hands a record's verdict to the link without its commit; the
// record, if it commits later, gets no outbox entry.
func (j *Journal) bypass(p *pending) {
	if p.noOutbox {
		return
	}
	p.noOutbox = true
	j.side.add(p.entry)
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

// drop gives up on records that were never committed, and their images.
func (j *Journal) drop(ps []*pending) {
	for _, p := range ps {
		if p.image != "" {
			if err := removeImage(j.imagesDir, p.image); err != nil {
				j.log.Warn("remove image of a record not journaled", "image", p.image, "err", err)
			}
		}
	}
	j.count(func(s *Stats) { s.NotJournaled += uint64(len(ps)) })
}

func (j *Journal) setHeld(n int) { j.count(func(s *Stats) { s.Held = n }) }

// flushAll commits the last records on Close, retrying a failing disk a
// few times before giving up on them. Those are lost from the journal
// (at most MaxPending); their verdicts went to the link when commits
// began to fail.
func (j *Journal) flushAll(batch []*pending) {
	for try := 0; try < 3; try++ {
		if batch = j.flush(batch); len(batch) == 0 && j.pendingAcks() == 0 {
			return
		}
		time.Sleep(j.opts.FlushInterval)
	}
	if len(batch) > 0 {
		j.drop(batch)
		j.setHeld(0)
		j.log.Error("journal closed with records not committed", "records", len(batch))
	}
}

func (j *Journal) pendingAcks() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.acks)
}

// flush commits acks, retention and the batch, in transactions of at most
// j.chunk records, each synced, and returns what is left to commit: nil,
// or the records from the first transaction that failed.
func (j *Journal) flush(batch []*pending) []*pending {
	j.mu.Lock()
	acks := j.acks
	j.acks = map[uint64]time.Time{}
	if j.failing && len(acks) > j.chunk {
		// Each ack rewrites its record: while commits fail, a transaction
		// takes no more of them than of records, so it fits in what
		// retention frees; the rest wait for the next flush.
		for _, id := range slices.Sorted(maps.Keys(acks))[j.chunk:] {
			j.acks[id] = acks[id]
			delete(acks, id)
		}
	}
	j.applying = acks
	outboxN := j.outboxN
	j.mu.Unlock()

	now := j.opts.Now()
	room := j.room(len(batch))
	due := len(batch) > 0 || len(acks) > 0 || now.Sub(j.lastRetain()) >= retainEvery || room.diskDeficit > 0 || j.failing ||
		j.outboxHeadExpired(outboxN, j.purgeCutoff(now))
	if !due {
		j.restoreAcks(acks)
		return nil
	}
	// Retention and acks go with the first chunk; after a failed commit
	// they go alone first, so the room they make is there for the records.
	first := batch[:min(len(batch), j.chunk)]
	if j.failing {
		first = nil
	}
	evicted, err := j.commit(acks, first, &room, now)
	if err != nil {
		j.restoreAcks(acks)
		j.shrinkChunk()
		return j.commitFailed(batch, err)
	}
	j.ringCredit += evicted
	j.setLastRetain(now)
	batch = batch[len(first):]
	for len(batch) > 0 {
		chunk := batch[:min(len(batch), j.chunk)]
		if _, err := j.commit(nil, chunk, nil, now); err != nil {
			j.shrinkChunk()
			return j.commitFailed(batch, err)
		}
		j.chunk = min(j.chunk*2, maxBatch)
		j.ringCredit = max(j.ringCredit-len(chunk), 0)
		batch = batch[len(chunk):]
		j.setHeld(len(batch))
	}
	j.setHeld(0)
	j.commitsResumed()
	return nil
}

// shrinkChunk makes the next transaction smaller after a failed one: a
// smaller transaction needs less new space, so whatever room there is can
// be used.
func (j *Journal) shrinkChunk() { j.chunk = max(min(j.chunk/2, commitChunk), 1) }

// commit applies acks, the records and, when room is set, retention in one
// synced transaction, then deletes the files retention let go. It returns
// how many records retention removed for disk space.
func (j *Journal) commit(acks map[uint64]time.Time, records []*pending, room *limits, now time.Time) (int, error) {
	if err := j.syncImages(records); err != nil {
		return 0, fmt.Errorf("sync images: %w", err)
	}
	j.mu.Lock()
	outboxN := j.outboxN
	j.mu.Unlock()
	w := txWriter{outboxLimit: j.opts.OutboxLimit, outboxFull: j.opts.OutboxFull, outboxN: outboxN, now: now}
	var ret retention
	err := j.db.Update(func(tx *bolt.Tx) error {
		w.tx = tx
		// A failed attempt must not leave counts behind.
		w.outboxN, w.outboxAdded, w.dropped, w.refused, w.expired = outboxN, 0, 0, 0, 0
		for id, at := range acks {
			if err := w.ack(id, at); err != nil {
				return err
			}
		}
		// Expired entries go before new ones are queued, so a full
		// outbox makes room by dropping what is stale first.
		// Bounded like the acks while commits fail (see flush).
		expireLimit := maxBatch
		if j.failing {
			expireLimit = j.chunk
		}
		if err := w.expireOutbox(j.purgeCutoff(now), expireLimit); err != nil {
			return err
		}
		if err := w.putRecords(records); err != nil {
			return err
		}
		if len(records) > 0 {
			if err := tx.Bucket(bucketRecords).SetSequence(records[len(records)-1].id); err != nil {
				return fmt.Errorf("record last id: %w", err)
			}
		}
		// After the records, so that those already past max_age go now.
		if room != nil {
			var err error
			l := *room
			l.cutoff, l.minuteCutoff, l.maxBytes = j.cutoff(now), j.cutoff(now), j.opts.MaxBytes
			if ret, err = retain(tx, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		j.count(func(s *Stats) { s.FlushErrors++ })
		return 0, err
	}
	for _, f := range ret.files {
		if err := removeImage(j.imagesDir, f); err != nil {
			j.log.Warn("remove image", "image", f, "err", err)
		}
	}
	j.mu.Lock()
	if acks != nil {
		j.applying = nil
	}
	j.outboxN = w.outboxN
	s := &j.stats
	s.Written += uint64(len(records))
	s.Flushes++
	if len(records) > 0 {
		s.LastID = records[len(records)-1].id
	}
	s.Expired += uint64(ret.expired)
	s.EvictedPass += uint64(ret.evictedPass)
	s.EvictedKept += uint64(ret.evictedKept)
	s.EvictedRecords += uint64(ret.evictedRecords)
	s.OutboxDropped += uint64(w.dropped)
	s.OutboxRefused += uint64(w.refused)
	if w.expired > 0 {
		s.OutboxExpired += uint64(w.expired)
		s.OutboxLastExpired = now
	}
	j.mu.Unlock()
	j.logFlush(w, ret)
	j.logExpired(now, w.expired)
	if w.outboxAdded > 0 {
		select {
		case j.notify <- struct{}{}:
		default:
		}
	}
	return ret.evictedRecords, nil
}

func (j *Journal) restoreAcks(acks map[uint64]time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for id, at := range acks {
		j.acks[id] = at
	}
	j.applying = nil
}

func (j *Journal) logFlush(w txWriter, r retention) {
	if w.dropped > 0 {
		j.log.Warn("outbox full: oldest verdicts dropped", "dropped", w.dropped, "limit", j.opts.OutboxLimit)
	}
	if w.refused > 0 {
		j.log.Warn("outbox full: verdicts journaled but not queued for MQTT", "refused", w.refused, "limit", j.opts.OutboxLimit)
	}
	if r.expired > 0 {
		j.log.Info("expired records", "records", r.expired, "max_age", j.opts.MaxAge)
	}
	if r.evictedRecords > 0 {
		j.log.Debug("removed the oldest records to keep the disk's reserve", "records", r.evictedRecords)
	}
	if r.evictedPass > 0 {
		j.log.Debug("evicted PASS images for the size cap", "images", r.evictedPass)
	}
	if r.evictedKept > 0 && j.short {
		// Said once, when the disk fell below its reserve.
		j.log.Debug("evicted FAIL/UNCERTAIN images for the disk's reserve", "images", r.evictedKept)
	} else if r.evictedKept > 0 {
		j.log.Warn("evicted FAIL/UNCERTAIN images: the size cap could not be met with PASS images alone",
			"images", r.evictedKept, "max_bytes", j.opts.MaxBytes)
	}
	if r.capUnreachable {
		j.log.Warn("journal over its size cap with no image left to evict; records go only by max_age",
			"max_bytes", j.opts.MaxBytes)
	}
}

// retainEvery is how often retention runs when no records arrive.
const retainEvery = time.Minute

func (j *Journal) lastRetain() time.Time {
	if t := j.lastRetainAt.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

func (j *Journal) setLastRetain(t time.Time) { j.lastRetainAt.Store(&t) }

// cutoff is the oldest time max_age keeps; zero when records never expire.
func (j *Journal) cutoff(now time.Time) time.Time {
	if j.opts.MaxAge <= 0 {
		return time.Time{}
	}
	return now.Add(-j.opts.MaxAge)
}

// minuteHorizon is the oldest minute whose aggregates are still kept.
func (j *Journal) minuteHorizon() time.Time { return j.cutoff(j.opts.Now()) }

// syncImages makes the batch's image files, and their folder entries,
// durable before the records pointing at them commit. It syncs only those
// files (not the whole file system, as syncfs would), so its cost follows
// the images kept, not what else the box writes.
func (j *Journal) syncImages(batch []*pending) error {
	dirs := map[string]bool{}
	for _, p := range batch {
		if p.image == "" {
			continue
		}
		path := filepath.Join(j.imagesDir, p.image)
		if err := syncPath(path); err != nil {
			return err
		}
		dirs[filepath.Dir(path)] = true
	}
	if len(dirs) == 0 {
		return nil
	}
	dirs[j.imagesDir] = true // a new day's folder is an entry in it
	for d := range dirs {
		if err := syncPath(d); err != nil {
			return err
		}
	}
	return nil
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
