package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Convolutional energy models. Images travel between layers channels last
// (NHWC, [N, H, W, C]; see package autodiff's Conv2D), but a model's input
// is a batch of rows [N, C·H·W] in PyTorch's NCHW order, as package sm
// passes it, and weights keep PyTorch's layout [out, in, kh, kw].

// Conv2D is a 2-D convolution layer (PyTorch's nn.Conv2d) on NHWC images:
// W [out, in, KH, KW], B [out] or nil, with a stride and zero padding.
type Conv2D struct {
	W, B        *ad.Value
	Stride, Pad int
}

// NewConv2D returns a k×k convolution from in to out channels with
// PyTorch's default initialisation: W and b uniform on ±1/√(in·k·k)
// (kaiming_uniform with a = √5, as for Linear, with fan-in in·k·k). Without
// bias, B is nil.
func NewConv2D(dt tensor.DType, in, out, k, stride, pad int, bias bool, rng *rand.Rand) *Conv2D {
	if in < 1 || out < 1 || k < 1 || stride < 1 || pad < 0 {
		panic(fmt.Sprintf("nn: NewConv2D(in=%d, out=%d, k=%d, stride=%d, pad=%d)", in, out, k, stride, pad))
	}
	bound := 1 / math.Sqrt(float64(in*k*k))
	l := &Conv2D{W: ad.Var(tensor.RandU(dt, rng, -bound, bound, out, in, k, k)), Stride: stride, Pad: pad}
	if bias {
		l.B = ad.Var(tensor.RandU(dt, rng, -bound, bound, out))
	}
	return l
}

// Forward applies the layer to NHWC images [N, H, W, in], giving
// [N, Ho, Wo, out].
func (l *Conv2D) Forward(x *ad.Value) *ad.Value {
	return ad.Conv2D(x, l.W, l.B, l.Stride, l.Pad)
}

// forwardAct is act(Forward(x)) as one fused node.
func (l *Conv2D) forwardAct(x *ad.Value, act tensor.Act) *ad.Value {
	return ad.Conv2DAct(x, l.W, l.B, l.Stride, l.Pad, act)
}

// params lists the layer's parameters under prefix ("weight", and "bias"
// when there is one).
func (l *Conv2D) params(prefix string) []Param {
	ps := []Param{{prefix + "weight", l.W}}
	if l.B != nil {
		ps = append(ps, Param{prefix + "bias", l.B})
	}
	return ps
}

// ShiftedSoftplus is softplus(x) − log 2, the activation of the convolutional
// energies (the reference implementation's): smooth, so its second and
// third derivatives exist for score matching, and zero at zero, so the zero
// padding of a convolution is what the activation maps zero to.
func ShiftedSoftplus(x *ad.Value) *ad.Value { return ad.AddScalar(ad.Softplus(x), -math.Ln2) }

// ResBlock is a pre-activation residual block on NHWC images, with
// φ = ShiftedSoftplus:
//
//	y = conv2(φ(conv1(φ(x′)))) + shortcut(x′),   x′ = AvgPool2D(x, 2) if Down, else x,
//
// conv1 and conv2 3×3 with padding 1, and shortcut a 1×1 convolution
// without bias (conv2's bias covers it) when the channel count changes, the
// identity otherwise. Downsampling first, by 2×2 average pooling, runs both
// convolutions at the lower resolution (a quarter of the work of pooling
// after them) and keeps every input pixel in the shortcut, which a strided
// 1×1 convolution would drop three quarters of.
//
// Parameters are named "conv1.weight", "conv1.bias", "conv2.weight",
// "conv2.bias" and "shortcut.weight" (when there is a shortcut layer).
type ResBlock struct {
	Conv1, Conv2 *Conv2D
	// Shortcut is the 1×1 convolution, or nil for the identity.
	Shortcut *Conv2D
	// Down halves the resolution (2×2 average pooling) before the block.
	Down bool
}

// NewResBlock returns a block from in to out channels with PyTorch's
// default initialisation (drawn in the order conv1, conv2, shortcut).
func NewResBlock(dt tensor.DType, in, out int, down bool, rng *rand.Rand) *ResBlock {
	b := &ResBlock{
		Conv1: NewConv2D(dt, in, out, 3, 1, 1, true, rng),
		Conv2: NewConv2D(dt, out, out, 3, 1, 1, true, rng),
		Down:  down,
	}
	if in != out {
		b.Shortcut = NewConv2D(dt, in, out, 1, 1, 0, false, rng)
	}
	return b
}

// Forward maps NHWC images [N, H, W, in] to [N, H′, W′, out], H′ = H/2
// (rounded down) when the block downsamples, else H.
func (b *ResBlock) Forward(x *ad.Value) *ad.Value {
	if b.Down {
		x = ad.AvgPool2D(x, 2, 2, 0)
	}
	// conv1 and the activation after it are one fused node (see
	// autodiff.Conv2DAct), whose FD difference rules are float32-stable.
	h := ad.AddScalar(b.Conv1.forwardAct(ShiftedSoftplus(x), tensor.ActSoftplus), -math.Ln2)
	h = b.Conv2.Forward(h)
	s := x
	if b.Shortcut != nil {
		s = b.Shortcut.Forward(x)
	}
	return ad.Add(h, s)
}

// Params implements Module.
func (b *ResBlock) Params() []Param {
	ps := append(b.Conv1.params("conv1."), b.Conv2.params("conv2.")...)
	if b.Shortcut != nil {
		ps = append(ps, b.Shortcut.params("shortcut.")...)
	}
	return ps
}

// ResNetConfig configures NewResNetEnergy. A nil *ResNetConfig, or a zero
// field, means the default.
type ResNetConfig struct {
	// Channels is every block's width (default 32).
	Channels int
	// Blocks is the number of residual blocks (default 3).
	Blocks int
}

func (c *ResNetConfig) withDefaults() ResNetConfig {
	out := ResNetConfig{Channels: 32, Blocks: 3}
	if c != nil {
		if c.Channels != 0 {
			out.Channels = c.Channels
		}
		if c.Blocks != 0 {
			out.Blocks = c.Blocks
		}
	}
	return out
}

// ResNetEnergy is the paper's deep energy model for images: residual blocks,
// then φ, global average pooling and the quadratic head (QuadHead),
//
//	E(x) = l1(h)·l2(h) + lq(h ⊙ h),   h = mean over pixels of φ(blocks(x)).
//
// Its input is a batch of rows [N, C·H·W], images in NCHW order (MNIST
// zero-padded to 32×32: C = 1, d = 1024). The first block maps C to
// Channels channels at full resolution; every later block first halves the
// resolution while both sides are at least 4 pixels (32×32 → 16×16 → 8×8
// with the default 3 blocks). The default (3 blocks of 32 channels, 47k
// parameters at 1×32×32) trains on two cores.
//
// Parameters are named "blocks.<i>.conv1.weight" ([out, in, 3, 3]),
// "blocks.<i>.conv1.bias", "blocks.<i>.conv2.weight", "blocks.<i>.conv2.bias",
// "blocks.<i>.shortcut.weight" ([out, in, 1, 1], where the width changes)
// and "head.l1.weight", "head.l1.bias", … "head.lq.bias", as a PyTorch
// module with the same structure names them.
type ResNetEnergy struct {
	// C, H and W are the input images' shape.
	C, H, W int
	Blocks  []*ResBlock
	Head    *QuadHead
}

// NewResNetEnergy returns a ResNetEnergy on C×H×W images with PyTorch's
// default initialisation, drawn block by block, then the head.
func NewResNetEnergy(dt tensor.DType, c, h, w int, cfg *ResNetConfig, rng *rand.Rand) *ResNetEnergy {
	set := cfg.withDefaults()
	if c < 1 || h < 1 || w < 1 || set.Channels < 1 || set.Blocks < 1 {
		panic(fmt.Sprintf("nn: NewResNetEnergy on %d×%d×%d images with %+v", c, h, w, set))
	}
	m := &ResNetEnergy{C: c, H: h, W: w}
	in := c
	for _, down := range resNetDownsampling(h, w, set.Blocks) {
		m.Blocks = append(m.Blocks, NewResBlock(dt, in, set.Channels, down, rng))
		in = set.Channels
	}
	m.Head = NewQuadHead(dt, set.Channels, rng)
	return m
}

// resNetDownsampling returns which of the blocks halve the resolution: all
// but the first, while both sides are at least 4.
func resNetDownsampling(h, w, blocks int) []bool {
	down := make([]bool, blocks)
	for i := 1; i < blocks; i++ {
		if h >= 4 && w >= 4 {
			down[i] = true
			h, w = h/2, w/2
		}
	}
	return down
}

// Features returns h [N, Channels] for a batch of NCHW rows [N, C·H·W].
func (m *ResNetEnergy) Features(x *ad.Value) *ad.Value {
	if x.T().Rank() != 2 || x.Dim(1) != m.C*m.H*m.W {
		panic(fmt.Sprintf("nn: ResNetEnergy on %d×%d×%d images got a batch of shape %v (want [N, %d])",
			m.C, m.H, m.W, x.Shape(), m.C*m.H*m.W))
	}
	h := ad.NCHWToNHWC(x, m.C, m.H, m.W)
	for _, b := range m.Blocks {
		h = b.Forward(h)
	}
	return ad.GlobalAvgPool2D(ShiftedSoftplus(h))
}

// Energy returns E(x), one value per row ([N]), for NCHW rows [N, C·H·W].
func (m *ResNetEnergy) Energy(x *ad.Value) *ad.Value { return m.Head.Energy(m.Features(x)) }

// Params implements Module.
func (m *ResNetEnergy) Params() []Param {
	var ps []Param
	for i, b := range m.Blocks {
		for _, p := range b.Params() {
			ps = append(ps, Param{fmt.Sprintf("blocks.%d.%s", i, p.Name), p.Value})
		}
	}
	for _, p := range m.Head.Params() {
		ps = append(ps, Param{"head." + p.Name, p.Value})
	}
	return ps
}

// ResNetFromTensors builds a ResNetEnergy on c×h×w images from PyTorch-style
// named tensors (the names of ResNetEnergy), converted to dtype dt: the
// number of blocks and the width are read from the names and shapes. It
// returns an error naming the tensor at fault when a name is unexpected, a
// parameter is missing or a shape does not fit.
func ResNetFromTensors(ts map[string]*tensor.Tensor, c, h, w int, dt tensor.DType) (*ResNetEnergy, error) {
	blocks := 0
	names := make([]string, 0, len(ts))
	for name := range ts {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad name reported is the same every run
	for _, name := range names {
		if strings.HasPrefix(name, "head.") {
			continue
		}
		rest, ok := strings.CutPrefix(name, "blocks.")
		num, _, ok2 := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || i < 0 || i > 1<<10 {
			return nil, fmt.Errorf("nn: unexpected tensor %q (want blocks.<i>.… and head.…)", name)
		}
		blocks = max(blocks, i+1)
	}
	w0 := ts["blocks.0.conv1.weight"]
	if w0 == nil || w0.Rank() != 4 {
		return nil, fmt.Errorf("nn: no blocks.0.conv1.weight [channels, %d, 3, 3]", c)
	}
	if c < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("nn: ResNetFromTensors on %d×%d×%d images", c, h, w)
	}
	m := NewResNetEnergy(dt, c, h, w, &ResNetConfig{Channels: w0.Dim(0), Blocks: blocks}, rand.New(rand.NewPCG(0, 0)))
	file := make(map[string]*tensor.Tensor, len(ts))
	for name, t := range ts {
		file[name] = t.AsType(dt)
	}
	if err := checkParams(file, m.Params()); err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	for _, p := range m.Params() {
		p.Value.T().CopyFrom(file[p.Name])
	}
	return m, nil
}
