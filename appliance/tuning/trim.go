package tuning

/*
#include <malloc.h>
*/
import "C"

import "runtime/debug"

// trimMemory hands freed memory back to the system, so resident memory
// measures what is in use: Go's heap (FreeOSMemory) and the C heap, where
// glibc otherwise keeps what ONNX Runtime freed (the model file it parsed,
// a closed session) and VmRSS would count it.
func trimMemory() {
	debug.FreeOSMemory()
	C.malloc_trim(0)
}

// TrimMemory is trimMemory for callers that close a model outside Select.
func TrimMemory() { trimMemory() }
