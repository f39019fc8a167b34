// Package plot writes the pictures fdsm's command-line tool produces, with the
// standard library only: PNG images through image/png and SVG charts written
// as text.
//
//   - Heatmap draws a grid of values, such as a density exp(−E(x)) evaluated on
//     a regular grid, through the viridis colormap.
//   - Scatter draws 2-D points (samples from a model, and optionally the data
//     beside them) as translucent dots.
//   - ImageGrid tiles grayscale images, such as MNIST samples.
//   - LineChart draws curves, such as the training loss against wall-clock
//     time, as an SVG with axes, ticks, a title and a legend.
//
// # Colours
//
// Values are mapped to colours by viridis (van der Walt and Smith, matplotlib
// 1.5), perceptually uniform and readable in grayscale. Viridis holds eleven
// control points, the colormap at t = 0, 0.1, …, 1, and interpolates linearly
// between them in sRGB; the result is within a few units per 8-bit channel of
// the 256-entry table. A value v in the range [lo, hi] maps to
//
//	t = (v − lo)/(hi − lo),           or with log scaling
//	t = (ln v − ln lo)/(ln hi − ln lo),
//
// clamped to [0, 1].
//
// # Axes
//
// Chart axes end on "nice" values, multiples of 1, 2 or 5 × 10ᵏ (NiceTicks;
// Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990). A tick is
// computed as the integer i·m divided (or multiplied) by the exact power of
// ten, so 0.3 prints as 0.3 and not 0.30000000000000004.
//
// # Bad input
//
// Everything is checked and reported as an error, never a panic: mismatched
// lengths, empty input, negative or absurd sizes. NaN is data, not an error:
// a NaN heatmap cell is drawn in a neutral gray, NaN points and pixels are
// skipped or marked as documented on each function.
//
// # Files
//
// The functions write to an io.Writer; WriteFile writes a picture to a file
// atomically, so that a viewer refreshing the file during training never
// sees half an image.
package plot
