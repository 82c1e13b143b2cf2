package anomaly

import (
	"math"
	"runtime"
	"sync"
)

// The bank search is the matrix product Q·Bᵀ of the frame's unit patch
// vectors Q [n, dim] with the bank B [m, dim], reduced by a running maximum
// over each row as it is made, so the n x m product is never stored. It is
// blocked twice: the bank in tiles of bankTile rows that stay in the L2
// cache while every query passes over them, and, inside a tile, 4 queries x
// 4 bank rows at a time, so each value loaded feeds four multiply-adds held
// in 16 registers. Queries are split among the cores.
const bankTile = 64

// MaxDot sets best[i] to the largest dot product of query row i with any bank
// row; queries and bank are row-major with rows of dim values, and best has
// one value per query row. An empty bank gives -Inf.
func MaxDot(queries, bank []float32, dim int, best []float32) {
	n := len(best)
	workers := min(runtime.GOMAXPROCS(0), (n+15)/16)
	if workers <= 1 {
		maxDotRange(queries, bank, dim, best, 0, n)
		return
	}
	// Ranges of whole 4-row blocks, as even as the blocks allow.
	blocks := (n + 3) / 4
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := 4*(blocks*w/workers), min(n, 4*(blocks*(w+1)/workers))
		if lo >= hi {
			continue
		}
		wg.Go(func() { maxDotRange(queries, bank, dim, best, lo, hi) })
	}
	wg.Wait()
}

// maxDotRange does MaxDot for query rows lo..hi-1.
func maxDotRange(queries, bank []float32, dim int, best []float32, lo, hi int) {
	m := len(bank) / dim
	for i := lo; i < hi; i++ {
		best[i] = float32(math.Inf(-1))
	}
	for b0 := 0; b0 < m; b0 += bankTile {
		b1 := min(b0+bankTile, m)
		i := lo
		for ; i+4 <= hi; i += 4 {
			q := queries[i*dim : (i+4)*dim]
			j := b0
			for ; j+4 <= b1; j += 4 {
				block4x4(q, bank[j*dim:(j+4)*dim], dim, best[i:i+4])
			}
			for ; j < b1; j++ {
				r := bank[j*dim : (j+1)*dim]
				for k := 0; k < 4; k++ {
					best[i+k] = max(best[i+k], dot(q[k*dim:(k+1)*dim], r))
				}
			}
		}
		for ; i < hi; i++ {
			q := queries[i*dim : (i+1)*dim]
			for j := b0; j < b1; j++ {
				best[i] = max(best[i], dot(q, bank[j*dim:(j+1)*dim]))
			}
		}
	}
}

// block4x4 folds the 16 dot products of 4 query rows q with 4 bank rows r
// into best[0..3].
func block4x4(q, r []float32, dim int, best []float32) {
	q0, q1, q2, q3 := q[:dim], q[dim:2*dim], q[2*dim:3*dim], q[3*dim:4*dim]
	r0, r1, r2, r3 := r[:dim], r[dim:2*dim], r[2*dim:3*dim], r[3*dim:4*dim]
	// Equal lengths, stated so the compiler drops the bounds checks.
	q1, q2, q3 = q1[:len(q0)], q2[:len(q0)], q3[:len(q0)]
	r0, r1, r2, r3 = r0[:len(q0)], r1[:len(q0)], r2[:len(q0)], r3[:len(q0)]
	var s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33 float32
	for k := range q0 {
		a0, a1, a2, a3 := q0[k], q1[k], q2[k], q3[k]
		c0, c1, c2, c3 := r0[k], r1[k], r2[k], r3[k]
		s00 += a0 * c0
		s01 += a0 * c1
		s02 += a0 * c2
		s03 += a0 * c3
		s10 += a1 * c0
		s11 += a1 * c1
		s12 += a1 * c2
		s13 += a1 * c3
		s20 += a2 * c0
		s21 += a2 * c1
		s22 += a2 * c2
		s23 += a2 * c3
		s30 += a3 * c0
		s31 += a3 * c1
		s32 += a3 * c2
		s33 += a3 * c3
	}
	best[0] = max(best[0], s00, s01, s02, s03)
	best[1] = max(best[1], s10, s11, s12, s13)
	best[2] = max(best[2], s20, s21, s22, s23)
	best[3] = max(best[3], s30, s31, s32, s33)
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
