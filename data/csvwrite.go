package data

import (
	"fmt"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"strconv"
	"strings"
)

// WriteCSV writes the rows of x under a header of the column names, or
// x0,x1,… if there are none.
func WriteCSV(w io.Writer, x *tensor.Tensor, columns []string) error {
	d := x.Dim(1)
	var b strings.Builder
	for j := range d {
		if j > 0 {
			b.WriteByte(',')
		}
		if len(columns) == d {
			b.WriteString(csvField(columns[j]))
		} else {
			fmt.Fprintf(&b, "x%d", j)
		}
	}
	b.WriteByte('\n')
	v := x.ToFloat64()
	for i := range x.Dim(0) {
		for j := range d {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(v[i*d+j], 'g', 9, 64))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// csvField quotes a CSV field if it needs it.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
