// Package boltfile reads the structure of a bbolt file with plain file reads,
// to tell a damaged file before bbolt maps it and to copy out what a damaged
// file still holds.
//
// Why by hand: bbolt maps the file and trusts it. A truncated file makes it
// fault (SIGBUS) while loading the freelist in Open, and garbage pages make it
// panic, sometimes in goroutines of its own (tx.Check), where no recover can
// reach; it has no "check before mapping". So the few fields of its format a
// check needs (meta pages, page headers, branch and leaf elements) are read
// here from the file, never mapped: a damaged file gives an error, not a
// crash. The layout is bbolt's version 2 data file, native byte order.
package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
)

// ErrDamaged marks a file bbolt cannot be trusted to open or read.
var ErrDamaged = errors.New("damaged bbolt file")

// Damage says why a file is damaged; it matches ErrDamaged.
type Damage struct {
	Path   string
	Reason string
}

func (d *Damage) Error() string        { return fmt.Sprintf("%s is damaged: %s", d.Path, d.Reason) }
func (d *Damage) Is(target error) bool { return target == ErrDamaged }

// The parts of bbolt's format read here.
const (
	magic         = 0xED0CDAED
	formatVersion = 2
	pageHeader    = 16 // id u64, flags u16, count u16, overflow u32
	elementSize   = 16 // a branch (pos, ksize, pgid) or leaf (flags, pos, ksize, vsize) element
	bucketHeader  = 16 // root pgid u64, sequence u64
	metaSize      = 56 // from magic to the checksum, which follows

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01

	noFreelist = ^uint64(0)
	maxDepth   = 64 // far deeper than any real tree
)

var order = binary.NativeEndian

// Meta is the meta page bbolt would use: the valid one with the highest
// transaction id.
type Meta struct {
	PageSize  int
	Root      uint64 // the root bucket's page
	Freelist  uint64 // noFreelist when the freelist is not synced
	HighWater uint64 // pages below it are in use or free
	Txid      uint64
}

// File is a bbolt file opened for plain reads.
type File struct {
	path string
	f    *os.File
	size int64
	Meta Meta
	// Truncated says the file is shorter than its last commit (OpenDamaged).
	Truncated error
}

// Size is the file's size in bytes.
func (f *File) Size() int64 { return f.size }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

func (f *File) damaged(format string, args ...any) error {
	return &Damage{Path: f.path, Reason: fmt.Sprintf(format, args...)}
}

// Preflight checks what bbolt relies on when it opens and maps a file: a
// valid meta page, a file as long as its last commit needs, and sane root
// and freelist pages. It reads a few pages, whatever the file's size. A
// missing or empty file passes: bbolt creates it.
func Preflight(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && st.Size() == 0) {
		return nil
	}
	f, err := Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.checkRoots()
}

// Open reads the meta pages of a bbolt file, as bbolt would, and checks the
// file holds every page its last commit wrote.
func Open(path string) (*File, error) {
	f, err := OpenDamaged(path)
	if err != nil {
		return nil, err
	}
	if f.Truncated != nil {
		f.Close()
		return nil, f.Truncated
	}
	return f, nil
}

// OpenDamaged is Open for copying out what a damaged file holds: a file
// shorter than its last commit opens all the same, with Truncated set, and
// Walk reports the pages it lacks.
func OpenDamaged(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f := &File{path: path, f: fh, size: st.Size()}
	if err := f.readMeta(); err != nil {
		fh.Close()
		return nil, err
	}
	return f, nil
}

type meta struct {
	Meta
	valid bool
	why   string
}

func parseMeta(b []byte) meta {
	if len(b) < pageHeader+metaSize+8 {
		return meta{why: "short"}
	}
	m := b[pageHeader:]
	var out meta
	out.PageSize = int(order.Uint32(m[8:]))
	out.Root = order.Uint64(m[16:])
	out.Freelist = order.Uint64(m[32:])
	out.HighWater = order.Uint64(m[40:])
	out.Txid = order.Uint64(m[48:])
	h := fnv.New64a()
	h.Write(m[:metaSize])
	switch {
	case order.Uint32(m[0:]) != magic:
		out.why = "no bbolt magic number"
	case order.Uint32(m[4:]) != formatVersion:
		out.why = fmt.Sprintf("format version %d, not %d", order.Uint32(m[4:]), formatVersion)
	case order.Uint64(m[metaSize:]) != h.Sum64():
		out.why = "checksum mismatch"
	default:
		out.valid = true
	}
	return out
}

// readMeta finds the page size as bbolt does (from the first meta page, else
// the second at each possible page size), then picks the meta page bbolt
// would use and checks the file against it.
func (f *File) readMeta() error {
	if f.size < 1024 {
		return f.damaged("the file is %d bytes, shorter than two meta pages", f.size)
	}
	first := f.read(0, 4096)
	m0 := parseMeta(first)
	pageSize := 0
	if m0.valid {
		pageSize = m0.PageSize
	} else {
		for i := 0; i <= 14; i++ {
			pos := int64(1024) << i
			if pos >= f.size-1024 {
				break
			}
			if m := parseMeta(f.read(pos, 4096)); m.valid {
				pageSize = m.PageSize
				break
			}
		}
	}
	if pageSize == 0 {
		return f.damaged("neither meta page is valid (first: %s)", m0.why)
	}
	if pageSize < 1024 || pageSize > 1<<24 || pageSize&(pageSize-1) != 0 {
		return f.damaged("page size %d is not a power of two from 1 KiB to 16 MiB", pageSize)
	}
	if f.size < int64(2*pageSize) {
		return f.damaged("the file is %d bytes, shorter than its two %d-byte meta pages", f.size, pageSize)
	}
	a, b := parseMeta(f.read(0, pageSize)), parseMeta(f.read(int64(pageSize), pageSize))
	if b.Txid > a.Txid {
		a, b = b, a
	}
	var m meta
	switch {
	case a.valid:
		m = a
	case b.valid:
		m = b
	default:
		return f.damaged("neither meta page is valid (%s; %s)", a.why, b.why)
	}
	if m.PageSize != pageSize {
		return f.damaged("meta pages disagree on the page size (%d, %d)", pageSize, m.PageSize)
	}
	f.Meta = m.Meta
	if m.HighWater < 2 || m.HighWater > uint64(1<<62)/uint64(pageSize) {
		return f.damaged("meta page says %d pages are in use", m.HighWater)
	}
	if need := int64(m.HighWater) * int64(pageSize); f.size < need {
		f.Truncated = f.damaged("truncated: the file is %d bytes, its last commit (transaction %d) wrote %d pages of %d bytes, %d bytes",
			f.size, m.Txid, m.HighWater, pageSize, need)
	}
	return nil
}

// read reads up to n bytes at off; a short read returns what was read.
func (f *File) read(off int64, n int) []byte {
	b := make([]byte, n)
	k, err := f.f.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return b[:0]
	}
	return b[:k]
}

// page is a page with its overflow, as read from the file.
type page struct {
	id       uint64
	flags    uint16
	count    int
	overflow uint64
	data     []byte // the header and body, (overflow+1) pages
}

// page reads page id and checks its header against where it was found.
func (f *File) page(id uint64) (*page, error) {
	ps := int64(f.Meta.PageSize)
	if id < 2 || id >= f.Meta.HighWater {
		return nil, fmt.Errorf("page %d is outside the pages in use (2 to %d)", id, f.Meta.HighWater-1)
	}
	h := f.read(int64(id)*ps, pageHeader)
	if len(h) < pageHeader {
		return nil, fmt.Errorf("page %d: cannot be read", id)
	}
	p := &page{id: order.Uint64(h[0:]), flags: order.Uint16(h[8:]), count: int(order.Uint16(h[10:])), overflow: uint64(order.Uint32(h[12:]))}
	if p.id != id {
		return nil, fmt.Errorf("page %d: its header says page %d", id, p.id)
	}
	if id+p.overflow >= f.Meta.HighWater {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the pages in use", id, p.overflow)
	}
	n := int64(p.overflow+1) * ps
	if p.data = f.read(int64(id)*ps, int(n)); int64(len(p.data)) < n {
		return nil, fmt.Errorf("page %d: cannot be read whole", id)
	}
	return p, nil
}

// checkRoots checks the root bucket's page and the freelist page headers:
// the pages bbolt reads as it opens a file.
func (f *File) checkRoots() error {
	p, err := f.page(f.Meta.Root)
	if err != nil {
		return f.damaged("root bucket: %v", err)
	}
	if p.flags != branchPage && p.flags != leafPage {
		return f.damaged("root bucket: page %d has type %#x, not a branch or leaf", p.id, p.flags)
	}
	if f.Meta.Freelist == noFreelist {
		return nil
	}
	if p, err = f.page(f.Meta.Freelist); err != nil {
		return f.damaged("freelist: %v", err)
	}
	if p.flags != freelistPage {
		return f.damaged("freelist: page %d has type %#x", p.id, p.flags)
	}
	n, start := uint64(p.count), pageHeader
	if p.count == 0xFFFF {
		n, start = order.Uint64(p.data[pageHeader:]), pageHeader+8
	}
	if n > uint64(len(p.data)-start)/8 {
		return f.damaged("freelist: page %d lists %d free pages, more than it holds", p.id, n)
	}
	return nil
}

// Guard runs a read of a file through bbolt, turning a panic or a memory
// fault (SIGBUS, SIGSEGV: bbolt reads a mapped file) on a damaged page into
// an error that matches ErrDamaged, instead of a crash. Faults become panics
// only in the goroutine that sets it, so read must not start others.
func Guard(path string, read func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &Damage{Path: path, Reason: fmt.Sprintf("reading it failed: %v", r)}
		}
	}()
	return read()
}
