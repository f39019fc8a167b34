// Package progress reports the progress of long loops, such as training,
// on a terminal or in a log.
//
// A Bar is told the step and the current loss after each iteration:
//
//	bar := progress.New(os.Stderr, steps, progress.IsTerminal(os.Stderr))
//	for step := 1; step <= steps; step++ {
//		loss := train()
//		bar.Update(step, loss)
//	}
//	bar.Finish()
//
// On a terminal it redraws a single line in place with a carriage return, at
// most ten times a second however fast the loop runs:
//
//	[=========>              ]  412/1000  loss -3.142  85.2 steps/s  eta 7s
//
// Otherwise (a log file, a pipe, CI output) it prints ordinary lines, every
// Every steps or every Interval, whichever comes first:
//
//	step 100/1000 loss 0.1234 12.3 steps/s eta 1m13s
//
// The speed is measured from the first Update on, so setup time before the
// loop, or a run resumed at step 5000, does not distort it, and the time
// left is (total − step)/speed. Finish ends with the total time.
package progress
