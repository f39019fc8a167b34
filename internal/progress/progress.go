package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// redrawInterval is the shortest time between two redraws on a terminal.
const redrawInterval = 100 * time.Millisecond

// barWidth is the number of characters inside the brackets of the bar.
const barWidth = 24

// Bar reports the progress of a loop of total steps. Its methods are safe
// for concurrent use. Errors writing the output are ignored: progress output
// must never stop a training run.
type Bar struct {
	// Every is, when not on a terminal, the step count between lines: a line
	// is printed when step passes a multiple of Every. 0 means total/10
	// (100 if total is unknown), negative means never by count. Set it
	// before the first Update.
	Every int
	// Interval is, when not on a terminal, the time after which a line is
	// printed even if Every steps have not passed: 0 means 10 seconds,
	// negative means never by time. Set it before the first Update.
	Interval time.Duration
	// Unit names what a step counts, in the singular ("row" prints
	// "row 40/100 … 12.3 rows/s"); empty means "step". Set it before the
	// first Update.
	Unit string

	mu       sync.Mutex
	w        io.Writer
	total    int
	terminal bool
	now      func() time.Time // the clock; time.Now except in tests

	start     time.Time // when the Bar was made
	seen      bool      // whether Update has been called
	firstStep int       // the step and time of the first Update,
	firstTime time.Time // from which the speed is measured
	step      int       // the latest step and loss
	loss      float64
	lastTime  time.Time // when output was last written,
	lastStep  int       // and for which step
	lastLen   int       // length of the last terminal line
	finished  bool
}

// New returns a Bar writing to w for a loop of total steps (0 or less if
// unknown: no bar and no time left are shown then). If isTerminal, it
// redraws one line in place; otherwise it prints lines (see Bar.Every).
// IsTerminal tells which applies to an *os.File.
func New(w io.Writer, total int, isTerminal bool) *Bar {
	return newWithClock(w, total, isTerminal, time.Now)
}

// newWithClock is New with the clock now instead of time.Now.
func newWithClock(w io.Writer, total int, isTerminal bool, now func() time.Time) *Bar {
	return &Bar{w: w, total: total, terminal: isTerminal, now: now, start: now()}
}

// IsTerminal reports whether f is a character device, such as a terminal.
// (So is /dev/null, where the output goes nowhere anyway.) A nil f or one
// that cannot be inspected is not a terminal.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Update records that step steps are done (counting from 1, or from
// wherever a resumed run starts) and that the current loss is loss, and
// writes the progress if it is time to: on a terminal at most every 100 ms
// and always when step reaches total; otherwise as set by Every and
// Interval, and on the first call. Updates after Finish are ignored.
func (b *Bar) Update(step int, loss float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	now := b.now()
	first := !b.seen
	if first {
		b.seen = true
		b.firstStep, b.firstTime = step, now
	}
	b.step, b.loss = step, loss
	if b.terminal {
		if first || now.Sub(b.lastTime) >= redrawInterval || (b.total > 0 && step >= b.total && b.lastStep != step) {
			b.draw(now, false)
		}
		return
	}
	every := b.Every
	if every == 0 {
		every = 100
		if b.total > 0 {
			every = max(1, b.total/10)
		}
	}
	interval := b.Interval
	if interval == 0 {
		interval = 10 * time.Second
	}
	if first || (every > 0 && step/every != b.lastStep/every) || (interval > 0 && now.Sub(b.lastTime) >= interval) {
		b.print(now, false)
	}
}

// Finish writes the final state with the total time taken since New and, on
// a terminal, ends the line. It does nothing if Update was never called,
// and the second time.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if !b.seen {
		return
	}
	now := b.now()
	if b.terminal {
		b.draw(now, true)
		io.WriteString(b.w, "\n")
	} else {
		b.print(now, true)
	}
}

// draw redraws the terminal line.
func (b *Bar) draw(now time.Time, done bool) {
	var s strings.Builder
	s.WriteByte('\r')
	if b.total > 0 {
		frac := min(max(float64(b.step)/float64(b.total), 0), 1)
		fill := int(frac * barWidth)
		s.WriteByte('[')
		s.WriteString(strings.Repeat("=", fill))
		if fill < barWidth {
			s.WriteByte('>')
			s.WriteString(strings.Repeat(" ", barWidth-fill-1))
		}
		s.WriteString("] ")
		tw := len(strconv.Itoa(b.total))
		fmt.Fprintf(&s, "%*d/%d", tw, b.step, b.total)
	} else {
		fmt.Fprintf(&s, "%s %d", b.unit(), b.step)
	}
	for _, f := range b.fields(now, done) {
		s.WriteString("  ")
		s.WriteString(f)
	}
	n := s.Len() - 1
	if n < b.lastLen {
		// Blank out the rest of a longer previous line.
		s.WriteString(strings.Repeat(" ", b.lastLen-n))
	}
	io.WriteString(b.w, s.String())
	b.lastLen = n
	b.lastTime, b.lastStep = now, b.step
}

// print writes one plain line.
func (b *Bar) print(now time.Time, done bool) {
	var s strings.Builder
	if b.total > 0 {
		fmt.Fprintf(&s, "%s %d/%d", b.unit(), b.step, b.total)
	} else {
		fmt.Fprintf(&s, "%s %d", b.unit(), b.step)
	}
	for _, f := range b.fields(now, done) {
		s.WriteByte(' ')
		s.WriteString(f)
	}
	s.WriteByte('\n')
	io.WriteString(b.w, s.String())
	b.lastTime, b.lastStep = now, b.step
}

// fields returns the parts of a line after the step: the loss, the speed
// and the time left (or, when done, the time taken), leaving out what is
// not known yet.
func (b *Bar) fields(now time.Time, done bool) []string {
	f := []string{"loss " + formatLoss(b.loss)}
	rate := math.NaN()
	if dt := now.Sub(b.firstTime).Seconds(); dt > 0 && b.step > b.firstStep {
		rate = float64(b.step-b.firstStep) / dt
		f = append(f, formatRate(rate, b.unit()))
	}
	switch {
	case done:
		f = append(f, "done in "+formatDuration(now.Sub(b.start).Seconds()))
	case b.total > 0 && b.step >= b.total:
		f = append(f, "eta 0s")
	case b.total > 0 && rate > 0:
		f = append(f, "eta "+formatDuration(float64(b.total-b.step)/rate))
	}
	return f
}

// formatLoss prints a loss with four significant digits.
func formatLoss(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatRate prints a speed in units per second with about three
// significant digits, as seconds per unit when below one a second.
func formatRate(r float64, unit string) string {
	switch {
	case r < 1:
		return strconv.FormatFloat(1/r, 'f', 2, 64) + " s/" + unit
	case r < 10:
		return strconv.FormatFloat(r, 'f', 2, 64) + " " + unit + "s/s"
	case r < 100:
		return strconv.FormatFloat(r, 'f', 1, 64) + " " + unit + "s/s"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + " " + unit + "s/s"
}

// unit is b.Unit, or "step".
func (b *Bar) unit() string {
	if b.Unit == "" {
		return "step"
	}
	return b.Unit
}

// formatDuration prints a number of seconds rounded to the second, as
// time.Duration does ("1m13s", "2h0m5s"); beyond 9999 hours it gives up.
func formatDuration(sec float64) string {
	if !(sec < 9999*3600) {
		return ">9999h"
	}
	return (time.Duration(math.Round(max(sec, 0))) * time.Second).String()
}

// IsTerminalWriter reports whether w is an *os.File on a terminal: whether
// a Bar on w should redraw in place.
func IsTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && IsTerminal(f)
}
