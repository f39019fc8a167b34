package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// TestResNetParamNames: the default model on MNIST padded to 32×32 has
// PyTorch's names and shapes, and 46 691 parameters: block 0 (1 → 32) has
// conv1 32·9 + 32, conv2 32·32·9 + 32 and a 32·1 shortcut; blocks 1 and 2
// two 32 → 32 convolutions each; the head 3·(32 + 1).
func TestResNetParamNames(t *testing.T) {
	m := nn.NewResNetEnergy(tensor.Float32, 1, 32, 32, nil, rand.New(rand.NewPCG(1, 2)))
	want := []string{
		"blocks.0.conv1.weight [32 1 3 3]", "blocks.0.conv1.bias [32]",
		"blocks.0.conv2.weight [32 32 3 3]", "blocks.0.conv2.bias [32]",
		"blocks.0.shortcut.weight [32 1 1 1]",
		"blocks.1.conv1.weight [32 32 3 3]", "blocks.1.conv1.bias [32]",
		"blocks.1.conv2.weight [32 32 3 3]", "blocks.1.conv2.bias [32]",
		"blocks.2.conv1.weight [32 32 3 3]", "blocks.2.conv1.bias [32]",
		"blocks.2.conv2.weight [32 32 3 3]", "blocks.2.conv2.bias [32]",
		"head.l1.weight [1 32]", "head.l1.bias [1]", "head.l2.weight [1 32]", "head.l2.bias [1]",
		"head.lq.weight [1 32]", "head.lq.bias [1]",
	}
	ps := m.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	total := 0
	for i, p := range ps {
		if got := fmt.Sprintf("%s %v", p.Name, p.Value.Shape()); got != want[i] {
			t.Errorf("param %d: %s, want %s", i, got, want[i])
		}
		total += p.Value.Len()
	}
	if total != 46691 {
		t.Errorf("%d parameters, want 46691", total)
	}
	if down := []bool{m.Blocks[0].Down, m.Blocks[1].Down, m.Blocks[2].Down}; fmt.Sprint(down) != "[false true true]" {
		t.Errorf("downsampling %v, want [false true true] (32 → 16 → 8)", down)
	}
	// PyTorch's bound for the 32 → 32 convolutions: 1/√(32·9).
	bound := 1 / math.Sqrt(32*9)
	for _, v := range m.Blocks[1].Conv1.W.T().ToFloat64() {
		if math.Abs(v) > bound {
			t.Fatalf("weight %v outside ±%v", v, bound)
		}
	}
}

// refImage is one image, channels first, as PyTorch stores it.
type refImage struct {
	c, h, w int
	v       []float64
}

func (im refImage) at(c, i, j int) float64 {
	if i < 0 || i >= im.h || j < 0 || j >= im.w {
		return 0
	}
	return im.v[(c*im.h+i)*im.w+j]
}

// refConv is PyTorch's conv2d with stride 1 and padding pad, by its loops.
func refConv(im refImage, w, b *tensor.Tensor, pad int) refImage {
	ws := w.ToFloat64()
	o, k := w.Dim(0), w.Dim(2)
	ho, wo := im.h+2*pad-k+1, im.w+2*pad-k+1
	out := refImage{o, ho, wo, make([]float64, o*ho*wo)}
	for oc := range o {
		for i := range ho {
			for j := range wo {
				var s float64
				if b != nil {
					s = b.At(oc)
				}
				for c := range im.c {
					for p := range k {
						for q := range k {
							s += ws[((oc*im.c+c)*k+p)*k+q] * im.at(c, i-pad+p, j-pad+q)
						}
					}
				}
				out.v[(oc*ho+i)*wo+j] = s
			}
		}
	}
	return out
}

func refMap(im refImage, f func(float64) float64) refImage {
	out := refImage{im.c, im.h, im.w, make([]float64, len(im.v))}
	for i, v := range im.v {
		out.v[i] = f(v)
	}
	return out
}

func refPool(im refImage) refImage {
	ho, wo := im.h/2, im.w/2
	out := refImage{im.c, ho, wo, make([]float64, im.c*ho*wo)}
	for c := range im.c {
		for i := range ho {
			for j := range wo {
				out.v[(c*ho+i)*wo+j] = (im.at(c, 2*i, 2*j) + im.at(c, 2*i+1, 2*j) + im.at(c, 2*i, 2*j+1) + im.at(c, 2*i+1, 2*j+1)) / 4
			}
		}
	}
	return out
}

func refAct(x float64) float64 { return math.Log1p(math.Exp(x)) - math.Ln2 }

// refResNetEnergy is ResNetEnergy's formula evaluated for one NCHW image
// with plain loops.
func refResNetEnergy(m *nn.ResNetEnergy, x []float64) float64 {
	im := refImage{m.C, m.H, m.W, x}
	for _, b := range m.Blocks {
		if b.Down {
			im = refPool(im)
		}
		h := refConv(refMap(im, refAct), b.Conv1.W.T(), b.Conv1.B.T(), 1)
		h = refConv(refMap(h, refAct), b.Conv2.W.T(), b.Conv2.B.T(), 1)
		s := im
		if b.Shortcut != nil {
			s = refConv(im, b.Shortcut.W.T(), nil, 0)
		}
		for i := range h.v {
			h.v[i] += s.v[i]
		}
		im = h
	}
	im = refMap(im, refAct)
	feat := make([]float64, im.c)
	for c := range im.c {
		for p := range im.h * im.w {
			feat[c] += im.v[c*im.h*im.w+p] / float64(im.h*im.w)
		}
	}
	lin := func(l *nn.Linear, h []float64) float64 {
		s := l.B.T().At(0)
		for i, v := range h {
			s += l.W.T().At(i) * v
		}
		return s
	}
	sq := make([]float64, len(feat))
	for i, v := range feat {
		sq[i] = v * v
	}
	return lin(m.Head.L1, feat)*lin(m.Head.L2, feat) + lin(m.Head.LQ, sq)
}

// tinyResNet is a 2×7×7 model of 3 blocks of width 3: a shortcut
// convolution in block 0, downsampling 7 → 3 in block 1 (odd size) and
// none in block 2 (3 < 4).
func tinyResNet(dt tensor.DType, seed uint64) *nn.ResNetEnergy {
	return nn.NewResNetEnergy(dt, 2, 7, 7, &nn.ResNetConfig{Channels: 3, Blocks: 3}, rand.New(rand.NewPCG(seed, 1)))
}

// TestResNetEnergyValue compares Energy with the loops of
// refResNetEnergy in float64 (tolerance: a few hundred roundings of
// values of order 1), and the float32 model with the float64 one on the
// same numbers (float32 rounding times the depth, 1e-5 relative).
func TestResNetEnergyValue(t *testing.T) {
	m := tinyResNet(tensor.Float64, 3)
	if fmt.Sprint([]bool{m.Blocks[0].Down, m.Blocks[1].Down, m.Blocks[2].Down}) != "[false true false]" {
		t.Fatalf("tiny model's downsampling is not [false true false]")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	x := tensor.RandN(tensor.Float64, rng, 4, 2*7*7)
	got := m.Energy(ad.Const(x)).T().ToFloat64()
	if len(got) != 4 {
		t.Fatalf("Energy has %d values, want 4", len(got))
	}
	for n := range 4 {
		want := refResNetEnergy(m, x.ToFloat64()[n*98:(n+1)*98])
		if math.Abs(got[n]-want) > 1e-12*(1+math.Abs(want)) {
			t.Errorf("row %d: E = %.15g, want %.15g", n, got[n], want)
		}
	}
	m32, err := nn.ResNetFromTensors(nn.Tensors(m), 2, 7, 7, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	g32 := m32.Energy(ad.Const(x.AsType(tensor.Float32))).T().ToFloat64()
	for n := range 4 {
		if math.Abs(g32[n]-got[n]) > 1e-5*(1+math.Abs(got[n])) {
			t.Errorf("row %d: float32 E = %v, float64 %v", n, g32[n], got[n])
		}
	}
}

// TestResNetGradients checks the energy's derivatives in x and in the
// parameters to order 2 (what SSM and DSM differentiate), on a 1×5×5 model
// of width 2 (adtest's default tolerances).
func TestResNetGradients(t *testing.T) {
	tmpl := nn.NewResNetEnergy(tensor.Float64, 1, 5, 5, &nn.ResNetConfig{Channels: 2, Blocks: 2}, rand.New(rand.NewPCG(5, 5)))
	ps := tmpl.Params()
	xs := []*tensor.Tensor{tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(6, 6)), 2, 25)}
	for _, p := range ps {
		xs = append(xs, p.Value.T())
	}
	f := func(v []*ad.Value) *ad.Value {
		m := nn.NewResNetEnergy(tensor.Float64, 1, 5, 5, &nn.ResNetConfig{Channels: 2, Blocks: 2}, rand.New(rand.NewPCG(5, 5)))
		setParams(m, v[1:])
		return m.Energy(v[0])
	}
	if err := adtest.Check(f, xs, 2, nil); err != nil {
		t.Fatal(err)
	}
}

// setParams points m's parameters at vs (in Params order).
func setParams(m *nn.ResNetEnergy, vs []*ad.Value) {
	k := 0
	next := func(p **ad.Value) {
		if *p != nil {
			*p = vs[k]
			k++
		}
	}
	for _, b := range m.Blocks {
		next(&b.Conv1.W)
		next(&b.Conv1.B)
		next(&b.Conv2.W)
		next(&b.Conv2.B)
		if b.Shortcut != nil {
			next(&b.Shortcut.W)
		}
	}
	for _, l := range []*nn.Linear{m.Head.L1, m.Head.L2, m.Head.LQ} {
		next(&l.W)
		next(&l.B)
	}
	if k != len(vs) {
		panic(fmt.Sprintf("setParams used %d of %d values", k, len(vs)))
	}
}

// TestResNetRowsIndependent: package sm requires that rows do not interact.
func TestResNetRowsIndependent(t *testing.T) {
	m := tinyResNet(tensor.Float64, 7)
	x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(8, 8)), 3, 98)
	all := m.Energy(ad.Const(x)).T().ToFloat64()
	one := m.Energy(ad.Const(tensor.SliceRows(x, 1, 2))).T().ToFloat64()
	if math.Abs(all[1]-one[0]) > 1e-13*(1+math.Abs(one[0])) {
		t.Errorf("row 1 alone: %v, in the batch: %v", one[0], all[1])
	}
}

// TestResNetCheckpoint: a saved model loads into a freshly initialised one
// (LoadCheckpoint) and through ResNetFromTensors, giving the same
// energies; a file of another shape is refused with the tensor's name.
func TestResNetCheckpoint(t *testing.T) {
	m := tinyResNet(tensor.Float32, 9)
	path := filepath.Join(t.TempDir(), "resnet.safetensors")
	if err := nn.SaveCheckpoint(path, m.Params(), nil, nn.Metadata{Model: "resnet"}); err != nil {
		t.Fatal(err)
	}
	x := ad.Const(tensor.RandN(tensor.Float32, rand.New(rand.NewPCG(10, 10)), 2, 98))
	want := m.Energy(x).T().ToFloat64()
	fresh := tinyResNet(tensor.Float32, 11)
	if _, err := nn.LoadCheckpoint(path, fresh.Params(), nil); err != nil {
		t.Fatal(err)
	}
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	built, err := nn.ResNetFromTensors(ck.Params, 2, 7, 7, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	for name, mm := range map[string]*nn.ResNetEnergy{"LoadCheckpoint": fresh, "ResNetFromTensors": built} {
		if got := mm.Energy(x).T().ToFloat64(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: energies %v, want %v", name, got, want)
		}
	}

	bad := nn.Tensors(m)
	bad["blocks.1.conv2.weight"] = tensor.Zeros(tensor.Float32, 3, 3, 1, 1)
	if _, err := nn.ResNetFromTensors(bad, 2, 7, 7, tensor.Float32); err == nil || !strings.Contains(err.Error(), "blocks.1.conv2.weight") {
		t.Errorf("wrong shape: error %v, want one naming blocks.1.conv2.weight", err)
	}
	bad = nn.Tensors(m)
	bad["stem.weight"] = tensor.Zeros(tensor.Float32, 1)
	if _, err := nn.ResNetFromTensors(bad, 2, 7, 7, tensor.Float32); err == nil || !strings.Contains(err.Error(), "stem.weight") {
		t.Errorf("extra tensor: error %v, want one naming stem.weight", err)
	}
	bad = nn.Tensors(m)
	delete(bad, "head.lq.bias")
	if _, err := nn.ResNetFromTensors(bad, 2, 7, 7, tensor.Float32); err == nil || !strings.Contains(err.Error(), "head.lq.bias") {
		t.Errorf("missing tensor: error %v, want one naming head.lq.bias", err)
	}
}

func TestResNetPanics(t *testing.T) {
	m := tinyResNet(tensor.Float32, 1)
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "nn: ResNetEnergy on 2×7×7 images got a batch of shape [3 49] (want [N, 98])") {
			t.Errorf("panic %q", msg)
		}
	}()
	m.Energy(ad.Const(tensor.Zeros(tensor.Float32, 3, 49)))
}
