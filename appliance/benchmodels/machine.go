package benchmodels

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine is what the peak arithmetic rate of a CPU box is computed from.
type Machine struct {
	Model string `json:"cpu_model"`
	// Cores is the number of CPUs this process may use (logical CPUs: on a
	// box with SMT, give the physical count with --cores, since two
	// hyper-threads share one core's FMA units).
	Cores int `json:"cores"`
	// ClockGHz is the sustained clock; ClockSource says where it came from.
	ClockGHz    float64 `json:"clock_ghz"`
	ClockSource string  `json:"clock_source"`
	// ISA is the widest vector extension with FMA: avx512, avx2 or sse.
	ISA string `json:"isa"`
	// Lanes is float32 lanes per vector: 16 for AVX-512, 8 for AVX2, 4 for SSE.
	Lanes int `json:"fp32_lanes"`
	// FMAUnits is vector FMA instructions issued per cycle per core: 2 on
	// current server cores (Skylake-SP Gold/Platinum and later, Zen 2-4 for
	// 256-bit), 1 on some parts (Xeon Silver/Bronze for AVX-512).
	FMAUnits int `json:"fma_units"`
	// VNNI and BF16 report the AVX-512/AVX int8 dot-product and bfloat16
	// instructions, which decide what the int8 variants can reach.
	VNNI bool `json:"vnni"`
	BF16 bool `json:"bf16"`
}

// PeakGFLOPS is cores × clock × FMA units × lanes × 2 (a fused multiply-add
// is two FLOPs): the fp32 rate no program can exceed.
func (m Machine) PeakGFLOPS() float64 {
	return float64(m.Cores) * m.ClockGHz * float64(m.FMAUnits) * float64(m.Lanes) * 2
}

// DetectMachine reads /proc/cpuinfo and the cpufreq files of Linux. The clock
// is cpufreq's cpuinfo_max_freq when the kernel exposes it (the highest
// clock the CPU reports), else /proc/cpuinfo's "cpu MHz" (the current clock;
// in virtual machines usually the nominal one).
func DetectMachine() Machine {
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	maxFreq, _ := os.ReadFile("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
	return parseMachine(string(cpuinfo), string(maxFreq), runtime.NumCPU())
}

// parseMachine is DetectMachine on given file contents.
func parseMachine(cpuinfo, maxFreqKHz string, cpus int) Machine {
	m := Machine{Cores: cpus, FMAUnits: 2, ISA: "sse", Lanes: 4}
	flags := map[string]bool{}
	var mhz float64
	for _, line := range strings.Split(cpuinfo, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name":
			if m.Model == "" {
				m.Model = val
			}
		case "cpu MHz":
			if mhz == 0 {
				mhz, _ = strconv.ParseFloat(val, 64)
			}
		case "flags":
			if len(flags) == 0 {
				for _, f := range strings.Fields(val) {
					flags[f] = true
				}
			}
		}
	}
	switch {
	case flags["avx512f"]:
		m.ISA, m.Lanes = "avx512", 16
	case flags["avx2"] && flags["fma"]:
		m.ISA, m.Lanes = "avx2", 8
	}
	m.VNNI = flags["avx512_vnni"] || flags["avx_vnni"]
	m.BF16 = flags["avx512_bf16"] || flags["amx_bf16"]
	if khz, err := strconv.ParseFloat(strings.TrimSpace(maxFreqKHz), 64); err == nil && khz > 0 {
		m.ClockGHz, m.ClockSource = khz/1e6, "cpufreq cpuinfo_max_freq"
	} else if mhz > 0 {
		m.ClockGHz, m.ClockSource = mhz/1e3, "/proc/cpuinfo cpu MHz"
	}
	return m
}

func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores at %.2f GHz (%s), %s (%d fp32 lanes) x %d FMA units, VNNI %s, BF16 %s: peak %.0f GFLOP/s fp32",
		m.Model, m.Cores, m.ClockGHz, m.ClockSource, m.ISA, m.Lanes, m.FMAUnits, yesNo(m.VNNI), yesNo(m.BF16), m.PeakGFLOPS())
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
