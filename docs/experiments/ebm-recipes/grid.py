# grid.py IN.npy OUT.png: the first 64 rows of a float32/float64 [N,784] .npy as an 8x8 PNG grid (clamped to [0,1]), scaled 3x.
import sys, struct, zlib, ast
raw = open(sys.argv[1], 'rb').read()
hl = struct.unpack('<H', raw[8:10])[0]
hdr = ast.literal_eval(raw[10:10+hl].decode())
fmt = {'<f4': 'f', '<f8': 'd'}[hdr['descr']]
sz = struct.calcsize(fmt)
n = hdr['shape'][0]
data = raw[10+hl:]
k = min(64, n)
vals = struct.unpack('<%d%s' % (k*784, fmt), data[:k*784*sz])
S = 3; G = 8; P = 1; W = G*(28+P)*S
img = [[0]*W for _ in range(W)]
for i in range(k):
    r, c = divmod(i, G)
    for y in range(28):
        for x in range(28):
            v = min(1, max(0, vals[i*784+y*28+x])); b = int(v*255+0.5)
            for dy in range(S):
                row = img[(r*(28+P)+y)*S+dy]
                for dx in range(S):
                    row[(c*(28+P)+x)*S+dx] = b
rows = b''.join(b'\x00' + bytes(row) for row in img)
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t+d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', W, W, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
open(sys.argv[2], 'wb').write(png)
