package jsonout

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
)

// Write writes v as one line of JSON, as json.Encoder does, except that
// a NaN or an infinity, which JSON cannot represent and encoding/json
// refuses ("json: unsupported value: NaN"), is written as null. It returns
// the names of the values so written (a.b for a field b of a field a, a[2]
// for an element), for the caller to warn about; output without such values
// is encoding/json's, byte for byte.
func Write(w io.Writer, v any) ([]string, error) {
	b, err := json.Marshal(v)
	var nulled []string
	if _, unsupported := err.(*json.UnsupportedValueError); unsupported {
		b, err = json.Marshal(nullNonFinite(reflect.ValueOf(v), "", &nulled))
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(nulled) // map keys come in random order
	_, err = w.Write(append(b, '\n'))
	return nulled, err
}

// WarnNonFinite tells on errw which values Write wrote as null.
func WarnNonFinite(errw io.Writer, cmd string, nulled []string) {
	if len(nulled) > 0 {
		fmt.Fprintf(errw, "fdsm %s: warning: %s not finite (NaN or infinite), written as null\n", cmd, strings.Join(nulled, ", "))
	}
}

// nullNonFinite returns v as maps, slices and plain values that
// encoding/json writes as it writes v, with nil in place of every NaN or
// infinity; path names v in what it appends to nulled.
func nullNonFinite(v reflect.Value, path string, nulled *[]string) any {
	if !v.IsValid() {
		return nil
	}
	if _, ok := v.Interface().(json.Marshaler); ok {
		return v.Interface()
	}
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			*nulled = append(*nulled, path)
			return nil
		}
		return v.Interface()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return nullNonFinite(v.Elem(), path, nulled)
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				if sub, ok := nullNonFinite(v.Field(i), path, nulled).(map[string]any); ok {
					for k, x := range sub {
						m[k] = x
					}
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			if strings.Contains(opts, "omitempty") && isEmptyJSON(v.Field(i)) {
				continue
			}
			m[name] = nullNonFinite(v.Field(i), join(name), nulled)
		}
		return m
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return v.Interface()
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key().String()
			m[k] = nullNonFinite(it.Value(), join(k), nulled)
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && (v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8) {
			return v.Interface()
		}
		s := make([]any, v.Len())
		for i := range s {
			s[i] = nullNonFinite(v.Index(i), fmt.Sprintf("%s[%d]", path, i), nulled)
		}
		return s
	}
	return v.Interface()
}

// isEmptyJSON reports whether omitempty leaves v out (encoding/json's rule).
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}
