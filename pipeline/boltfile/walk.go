package boltfile

import (
	"fmt"
	"strings"
)

// Entry is a key of a bucket met by Walk: a value, or a nested bucket with
// its sequence.
type Entry struct {
	Path     []string // the bucket it is in, outermost first
	Key      []byte
	Value    []byte // nil for a bucket
	Bucket   bool
	Sequence uint64 // a bucket's sequence
}

// Walk visits the keys of every bucket in key order, reading pages from the
// file. A damaged page (outside the file, a wrong header, elements out of
// bounds, referred to twice) is reported and its part of the tree skipped, so
// what is readable is still visited. visit returns whether to descend into a
// bucket (ignored for values). Entries' slices are valid during the call only.
func (f *File) Walk(visit func(Entry) bool) (problems []string) {
	w := walker{f: f, visit: visit, seen: map[uint64]bool{}}
	w.tree(nil, f.Meta.Root, 0)
	return w.problems
}

type walker struct {
	f        *File
	visit    func(Entry) bool
	seen     map[uint64]bool
	problems []string
}

func (w *walker) problem(path []string, format string, args ...any) {
	where := "root"
	if len(path) > 0 {
		where = "bucket " + strings.Join(path, "/")
	}
	w.problems = append(w.problems, where+": "+fmt.Sprintf(format, args...))
}

// tree walks the subtree of page id, in the bucket at path.
func (w *walker) tree(path []string, id uint64, depth int) {
	if depth > maxDepth {
		w.problem(path, "page %d: tree deeper than %d levels", id, maxDepth)
		return
	}
	if w.seen[id] {
		w.problem(path, "page %d is referred to twice", id)
		return
	}
	w.seen[id] = true
	p, err := w.f.page(id)
	if err != nil {
		w.problem(path, "%v", err)
		return
	}
	for i := uint64(1); i <= p.overflow; i++ {
		w.seen[id+i] = true
	}
	switch p.flags {
	case branchPage:
		if pageHeader+p.count*elementSize > len(p.data) {
			w.problem(path, "page %d: %d elements do not fit the page", id, p.count)
			return
		}
		for i := 0; i < p.count; i++ {
			e := pageHeader + i*elementSize
			child := order.Uint64(p.data[e+8:])
			w.tree(path, child, depth+1)
		}
	case leafPage:
		w.leaf(path, p, depth)
	default:
		w.problem(path, "page %d has type %#x, not a branch or leaf", id, p.flags)
	}
}

// leaf visits a leaf page's keys (p.data may be an inline bucket's page).
func (w *walker) leaf(path []string, p *page, depth int) {
	if pageHeader+p.count*elementSize > len(p.data) {
		w.problem(path, "page %d: %d elements do not fit the page", p.id, p.count)
		return
	}
	for i := 0; i < p.count; i++ {
		e := pageHeader + i*elementSize
		flags := order.Uint32(p.data[e:])
		pos, ksize, vsize := uint64(order.Uint32(p.data[e+4:])), uint64(order.Uint32(p.data[e+8:])), uint64(order.Uint32(p.data[e+12:]))
		start := uint64(e) + pos
		if start+ksize+vsize > uint64(len(p.data)) {
			w.problem(path, "page %d: element %d runs past the page", p.id, i)
			continue
		}
		k, v := p.data[start:start+ksize], p.data[start+ksize:start+ksize+vsize]
		if flags&bucketLeaf == 0 {
			w.visit(Entry{Path: path, Key: k, Value: v})
			continue
		}
		if len(v) < bucketHeader {
			w.problem(path, "page %d: bucket %q has a %d-byte header", p.id, k, len(v))
			continue
		}
		root, seq := order.Uint64(v[0:]), order.Uint64(v[8:])
		if !w.visit(Entry{Path: path, Key: k, Bucket: true, Sequence: seq}) {
			continue
		}
		sub := append(append([]string(nil), path...), string(k))
		if root != 0 {
			w.tree(sub, root, depth+1)
			continue
		}
		// An inline bucket: its page is the rest of the value.
		in := v[bucketHeader:]
		if len(in) < pageHeader {
			w.problem(sub, "inline page is %d bytes", len(in))
			continue
		}
		ip := &page{id: p.id, flags: order.Uint16(in[8:]), count: int(order.Uint16(in[10:])), data: in}
		if ip.flags != leafPage {
			w.problem(sub, "inline page in page %d has type %#x, not a leaf", p.id, ip.flags)
			continue
		}
		if depth+1 > maxDepth {
			w.problem(sub, "tree deeper than %d levels", maxDepth)
			continue
		}
		w.leaf(sub, ip, depth+1)
	}
}

// Scan visits the values of every leaf page in the file, in page order,
// whether the tree still reaches it or not (Path is nil): what a damaged
// tree has lost may still lie in its pages. Pages bbolt has freed are read
// too, so a key may come more than once, in older versions.
func (f *File) Scan(visit func(Entry)) {
	ps := int64(f.Meta.PageSize)
	end := min(f.Meta.HighWater, uint64(f.size/ps))
	w := walker{f: f, visit: func(e Entry) bool { visit(e); return false }, seen: map[uint64]bool{}}
	for id := uint64(2); id < end; id++ {
		p, err := f.page(id)
		if err != nil || p.flags != leafPage {
			continue
		}
		w.leaf(nil, p, maxDepth) // no descent into buckets: their pages come in turn
		id += p.overflow
	}
}
