package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine is what a run's figures depend on besides the code.
type machine struct {
	CPU      string
	Cores    int
	Memory   string
	Go       string
	OS       string
	Storage  string
	Postgres string // "" when no PostgreSQL figure ran
	Date     string
	Commit   string
	Load     string // the load average before and after: the machine may be shared
}

// describe gathers the machine's details; started and loadBefore come
// from scripts/figures (when the runs began, /proc/loadavg then).
// cpu is the model the benchmarks' output names, if any (Go reads it from
// the processor; /proc/cpuinfo may say less).
func describe(started time.Time, loadBefore, pgVersion, cpu string) machine {
	if cpu == "" {
		cpu = cpuModel()
	}
	m := machine{
		CPU:      cpu,
		Cores:    runtime.NumCPU(),
		Memory:   memTotal(),
		Go:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		OS:       osName() + ", kernel " + firstLine("/proc/sys/kernel/osrelease"),
		Storage:  storage(os.TempDir()),
		Postgres: pgVersion,
		Commit:   commit(),
	}
	now := time.Now().UTC()
	m.Date = now.Format("2006-01-02 15:04 UTC")
	if !started.IsZero() {
		m.Date = started.UTC().Format("2006-01-02 15:04") + "–" + now.Format("15:04 UTC") +
			fmt.Sprintf(" (%s)", now.Sub(started).Round(time.Second))
	}
	after := loadAvg()
	if loadBefore != "" {
		m.Load = loadBefore + " before, " + after + " after (1, 5, 15 min)"
	} else {
		m.Load = after + " after (1, 5, 15 min)"
	}
	return m
}

// lines is m as "name: value" lines, in a fixed order.
func (m machine) lines() []string {
	out := []string{
		"CPU: " + m.CPU + fmt.Sprintf(", %d cores", m.Cores),
		"memory: " + m.Memory,
		"Go: " + m.Go,
		"OS: " + m.OS,
		"storage: " + m.Storage,
	}
	if m.Postgres != "" {
		out = append(out, "PostgreSQL: "+m.Postgres)
	}
	return append(out, "date: "+m.Date, "commit: "+m.Commit, "load average: "+m.Load)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH + " (unknown model)"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH + " (unknown model)"
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

func loadAvg() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// storage names the file system the benchmarks write their files to (the
// temporary directory: bbolt's files, the ledger's), from the mount
// holding it.
func storage(dir string) string {
	dir, _ = filepath.Abs(dir)
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return dir
	}
	defer f.Close()
	best, desc := "", dir
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options… - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		mp := fields[4]
		if !within(dir, mp) || len(mp) < len(best) {
			continue
		}
		best = mp
		desc = fmt.Sprintf("%s on %s%s, mounted at %s (bbolt and ledger files in %s)", tail[0], tail[1], rotational(tail[1]), mp, dir)
	}
	return desc
}

func within(dir, mount string) bool {
	return mount == "/" || dir == mount || strings.HasPrefix(dir, mount+"/")
}

// rotational says what the kernel reports of a block device (virtual
// disks often report rotational whatever is behind them).
func rotational(dev string) string {
	name := filepath.Base(dev)
	b, err := os.ReadFile(filepath.Join("/sys/class/block", name, "queue/rotational"))
	if err != nil {
		return ""
	}
	if strings.TrimSpace(string(b)) == "0" {
		return " (non-rotational)"
	}
	return " (reported rotational)"
}

// commit is HEAD's short hash, "+ changes" if the tree differs from it.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " + uncommitted changes"
	}
	return c
}
