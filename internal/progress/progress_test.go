package progress

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock that moves only when told to.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestPlain(t *testing.T) {
	// 1000 steps of 40 ms: 25 steps/s, 40 s in all.
	c := newClock()
	var buf bytes.Buffer
	b := newWithClock(&buf, 1000, false, c.now)
	b.Interval = -1 // lines by count only
	for step := 1; step <= 1000; step++ {
		c.advance(40 * time.Millisecond)
		b.Update(step, 0.1234)
	}
	b.Finish()
	b.Finish()          // a second Finish prints nothing
	b.Update(1001, 0.5) // nor does an Update after Finish
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// The first Update, each multiple of total/10, and Finish.
	if len(lines) != 12 {
		t.Fatalf("%d lines, want 12:\n%s", len(lines), buf.String())
	}
	want := map[int]string{
		0: "step 1/1000 loss 0.1234", // no speed after one update
		// 99 steps in 3.96 s; 900 steps left at 25 steps/s.
		1:  "step 100/1000 loss 0.1234 25.0 steps/s eta 36s",
		5:  "step 500/1000 loss 0.1234 25.0 steps/s eta 20s",
		10: "step 1000/1000 loss 0.1234 25.0 steps/s eta 0s",
		11: "step 1000/1000 loss 0.1234 25.0 steps/s done in 40s",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("carriage return in plain output")
	}
}

func TestPlainInterval(t *testing.T) {
	// Slow steps of 0.5 s with Every = 1000 (never reached): a line every
	// Interval = 2 s, that is every 4 steps, each at 2 steps/s.
	c := newClock()
	var buf bytes.Buffer
	b := newWithClock(&buf, 0, false, c.now) // total unknown
	b.Every = 1000
	b.Interval = 2 * time.Second
	for step := 1; step <= 9; step++ {
		c.advance(500 * time.Millisecond)
		b.Update(step, float64(step))
	}
	got := buf.String()
	want := "step 1 loss 1\n" +
		"step 5 loss 5 2.00 steps/s\n" +
		"step 9 loss 9 2.00 steps/s\n"
	if got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
}

// TestUnit: a Bar that counts rows says rows, in lines and on a terminal.
func TestUnit(t *testing.T) {
	c := newClock()
	var buf bytes.Buffer
	b := newWithClock(&buf, 8, false, c.now)
	b.Unit = "row"
	b.Every = 4
	for row := 2; row <= 8; row += 2 {
		c.advance(time.Second) // 2 rows a second
		b.Update(row, 1)
	}
	want := "row 2/8 loss 1\n" +
		"row 4/8 loss 1 2.00 rows/s eta 2s\n" +
		"row 8/8 loss 1 2.00 rows/s eta 0s\n"
	if got := buf.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
	buf.Reset()
	tb := newWithClock(&buf, 0, true, c.now)
	tb.Unit = "row"
	tb.Update(3, 1)
	if got := buf.String(); !strings.HasPrefix(got, "\rrow 3  loss 1") {
		t.Errorf("terminal line %q, want it to start with \"row 3  loss 1\"", got)
	}
}

func TestTerminal(t *testing.T) {
	// 100 steps of 10 ms: a redraw at most every 100 ms, so at steps 1, 11,
	// 21, …, 91, then 100 (the last step is always drawn), and at Finish.
	c := newClock()
	var buf bytes.Buffer
	b := newWithClock(&buf, 100, true, c.now)
	for step := 1; step <= 100; step++ {
		c.advance(10 * time.Millisecond)
		loss := -1234.5
		if step > 50 {
			loss = 1 // shorter text: the line must be blanked to its old length
		}
		b.Update(step, loss)
	}
	out := buf.String()
	if strings.Contains(out, "\n") {
		t.Fatal("newline before Finish")
	}
	b.Finish()
	out = buf.String()
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("Finish did not end the line once: %q", out)
	}
	draws := strings.Split(strings.TrimSuffix(out, "\n"), "\r")[1:]
	if len(draws) != 12 {
		t.Fatalf("%d redraws, want 12: %q", len(draws), out)
	}
	for i := 1; i < len(draws); i++ {
		if len(draws[i]) < len(strings.TrimRight(draws[i-1], " ")) {
			t.Errorf("redraw %d (%q) shorter than the one before (%q): leftovers stay visible", i, draws[i], draws[i-1])
		}
	}
	// Step 51 is the first with the shorter loss: it is padded to the length
	// of step 41's line.
	if len(draws[5]) != len(draws[4]) || !strings.HasSuffix(draws[5], "    ") {
		t.Errorf("redraw at step 51 %q not padded to the length of %q", draws[5], draws[4])
	}
	// Step 11: 10 steps in 0.1 s, 89 left at 100 steps/s.
	if got, want := strings.TrimRight(draws[1], " "), "[==>                     ]  11/100  loss -1234  100 steps/s  eta 1s"; got != want {
		t.Errorf("redraw at step 11 = %q, want %q", got, want)
	}
	if got, want := strings.TrimRight(draws[10], " "), "[========================] 100/100  loss 1  100 steps/s  eta 0s"; got != want {
		t.Errorf("redraw at step 100 = %q, want %q", got, want)
	}
	if got, want := strings.TrimRight(draws[11], " "), "[========================] 100/100  loss 1  100 steps/s  done in 1s"; got != want {
		t.Errorf("final redraw = %q, want %q", got, want)
	}
}

func TestTerminalThrottle(t *testing.T) {
	// 10000 updates within 10 ms draw once, however fast the loop is.
	c := newClock()
	var buf bytes.Buffer
	b := newWithClock(&buf, 1_000_000, true, c.now)
	for step := 1; step <= 10000; step++ {
		c.advance(time.Microsecond)
		b.Update(step, 0)
	}
	if n := strings.Count(buf.String(), "\r"); n != 1 {
		t.Errorf("%d redraws, want 1", n)
	}
}

func TestResumedRun(t *testing.T) {
	// A run resumed at step 5000: the speed counts only the steps done here.
	c := newClock()
	var buf bytes.Buffer
	b := newWithClock(&buf, 6000, false, c.now)
	b.Every = 500
	for step := 5001; step <= 5500; step++ {
		c.advance(100 * time.Millisecond)
		b.Update(step, 2)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if got, want := lines[len(lines)-1], "step 5500/6000 loss 2 10.0 steps/s eta 50s"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestFinishWithoutUpdate(t *testing.T) {
	for _, term := range []bool{false, true} {
		var buf bytes.Buffer
		New(&buf, 10, term).Finish()
		if buf.Len() != 0 {
			t.Errorf("terminal=%v: Finish without Update wrote %q", term, buf.String())
		}
	}
}

func TestConcurrentUpdates(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, 400, false)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				b.Update(g*100+i+1, 1)
			}
		})
	}
	wg.Wait()
	b.Finish()
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.HasPrefix(line, "step ") {
			t.Errorf("garbled line %q", line)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{formatDuration(73), "1m13s"},
		{formatDuration(3725.4), "1h2m5s"},
		{formatDuration(0.4), "0s"},
		{formatDuration(-3), "0s"},
		{formatDuration(math.Inf(1)), ">9999h"},
		{formatDuration(math.NaN()), ">9999h"},
		{formatRate(12.34, "step"), "12.3 steps/s"},
		{formatRate(1234.4, "step"), "1234 steps/s"},
		{formatRate(4.567, "step"), "4.57 steps/s"},
		{formatRate(0.25, "step"), "4.00 s/step"},
		{formatLoss(0.123449), "0.1234"},
		{formatLoss(-12345.6), "-1.235e+04"},
		{formatLoss(math.NaN()), "NaN"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("a pipe is a terminal")
	}
	if IsTerminal(nil) {
		t.Error("nil is a terminal")
	}
	if null, err := os.Open(os.DevNull); err == nil {
		defer null.Close()
		if !IsTerminal(null) {
			t.Errorf("%s is not a character device", os.DevNull)
		}
	}
}
