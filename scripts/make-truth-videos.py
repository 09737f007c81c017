#!/usr/bin/env python3
"""Test videos with a ground truth of who is on screen when, for `lfr eval video --truth`
(issue 19: people stay apart). Built from LFW photos with sharp (the crossing) and
scripts/make-demo-video.sh; everything is written under OUT (keep it outside the repository:
these are photos of real people).

Usage: scripts/make-truth-videos.py --lfw ../shared/data/lfw --out /tmp/truth-videos
       scripts/make-truth-videos.py --lfw ../shared/data/lfw --out /tmp/truth-held-out --seed 1 --gaps 0.5,3

--seed N (held-out check): instead of the fixed twelve people below, another dozen drawn with
N from LFW's people_counts.tsv (the same N gives the same people): six wanted among the identities
with >= 2 images, six strangers among the rest, none of the fixed twelve and none named in
known_label_errors.tsv (either column). OUT/people.json records who was drawn.
--gaps G,G,... builds only those queue videos (default 0,0.2,0.5,1,3).

Writes OUT/gallery/<Name>/<Name>_0001.jpg (links: the watchlist, one photo each of six people)
and, each with OUT/<video>.truth.json:
  queue-gap<G>.mp4  twelve people one after another in the same place, 3 s each, G s of empty
                    scene between them (G = 0, 0.2, 0.5, 1, 3): wanted, stranger, wanted, ...
                    (every wanted person follows a stranger and is followed by one); the wanted
                    are shown with another photo than the enrolled one
  cross.mp4         two wanted people walking past each other (20 steps of 0.2 s)
  return.mp4        a wanted person, 2 s of empty scene, the same person again (another photo)
Truth boxes are fractions of the frame [x, y, width, height] of the person's photo.
"""
import argparse
import json
import os
import subprocess
import sys

WANTED = ['Colin_Powell', 'Tony_Blair', 'Gerhard_Schroeder', 'Jean_Chretien', 'Hugo_Chavez', 'Ariel_Sharon']
STRANGERS = ['AJ_Cook', 'Aaron_Eckhart', 'Aaron_Guiel', 'Aaron_Patterson', 'Aaron_Pena', 'Aaron_Tippin']
W, H = 1280, 720
HERE = os.path.dirname(os.path.abspath(__file__))


def photo(lfw, name, n):
    return os.path.join(lfw, 'images', name, f'{name}_{n:04d}.jpg')


def video(out, segments):
    subprocess.run([os.path.join(HERE, 'make-demo-video.sh'), out, '--size', f'{W}x{H}', *segments], check=True, stdout=subprocess.DEVNULL)


def compose(out, photos):
    """A black WxH JPEG with each (photo, x, y, size) resized and drawn in order (sharp, the
    repository's own image library: no ImageMagick needed)."""
    js = (
        "const sharp = require('sharp'); const [out, spec] = process.argv.slice(1); const ps = JSON.parse(spec);"
        "Promise.all(ps.map(([f, x, y, s]) => sharp(f).resize(s, s).toBuffer().then((input) => ({ input, left: x, top: y }))))"
        f".then((layers) => sharp({{ create: {{ width: {W}, height: {H}, channels: 3, background: '#000' }} }}).composite(layers).jpeg({{ quality: 92 }}).toFile(out))"
    )
    subprocess.run(['node', '-e', js, out, json.dumps(photos)], check=True, cwd=os.path.dirname(HERE))


def write_truth(path, spans):
    with open(path, 'w') as f:
        f.write('[\n' + ',\n'.join('  ' + json.dumps(s) for s in spans) + '\n]\n')


def held_out(lfw, seed):
    """Six wanted (>= 2 images) and six strangers drawn with `seed`, none of the fixed twelve."""
    import random
    counts = {}
    with open(os.path.join(lfw, 'people_counts.tsv')) as f:
        for line in f:
            name, n = line.rstrip('\n').split('\t')
            counts[name] = int(n)
    skip = set(WANTED) | set(STRANGERS)
    errors = os.path.join(lfw, 'known_label_errors.tsv')
    if os.path.exists(errors):
        with open(errors) as f:
            for line in f:
                if line.startswith('#') or not line.strip():
                    continue
                single, other = (line.rstrip('\n').split('\t') + [''])[:2]
                skip.add(single)
                if other.split():
                    skip.add(other.split()[0])
    rng = random.Random(seed)
    wanted = rng.sample(sorted(n for n, c in counts.items() if c >= 2 and n not in skip), 6)
    strangers = rng.sample(sorted(n for n in counts if n not in skip and n not in wanted), 6)
    return wanted, strangers


def main():
    global WANTED, STRANGERS
    ap = argparse.ArgumentParser()
    ap.add_argument('--lfw', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, help='held-out check: draw another dozen people with this seed')
    ap.add_argument('--gaps', default='0,0.2,0.5,1,3', help='queue gaps in seconds, comma-separated')
    a = ap.parse_args()
    gaps = [g.strip() for g in a.gaps.split(',') if g.strip()]
    for g in gaps:
        float(g)
    if a.seed is not None:
        WANTED, STRANGERS = held_out(a.lfw, a.seed)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'people.json'), 'w') as f:
        json.dump({'seed': a.seed, 'wanted': WANTED, 'strangers': STRANGERS}, f, indent=1)
        f.write('\n')
    for n in WANTED:
        d = os.path.join(a.out, 'gallery', n)
        os.makedirs(d, exist_ok=True)
        link = os.path.join(d, f'{n}_0001.jpg')
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(photo(a.lfw, n, 1)), link)
    # A 250x250 photo letterboxed into 1280x720 fills a 720x720 square in the middle.
    centre = [round(280 / W, 4), 0, round(720 / W, 4), 1]

    for gap in gaps:
        segs, spans, t = ['black:1'], [], 1.0
        people = [p for pair in zip(WANTED, STRANGERS) for p in pair]
        for i, name in enumerate(people):
            if i > 0 and float(gap) > 0:
                segs.append(f'black:{gap}')
                t += float(gap)
            wanted = name in WANTED
            segs.append(f'{photo(a.lfw, name, 2 if wanted else 1)}:3')
            span = {'identity': name if wanted else None, 'start': round(t, 3), 'end': round(t + 3, 3), 'box': centre}
            if not wanted:
                span['label'] = name
            spans.append(span)
            t += 3
        segs.append('black:1')
        out = os.path.join(a.out, f'queue-gap{gap}.mp4')
        video(out, segs)
        write_truth(out.replace('.mp4', '.truth.json'), spans)

    # Crossing: A walks left to right, B right to left, 360x360 photos on a black 1280x720 scene;
    # B is drawn over A (nearer the camera). 20 steps of 0.2 s, held 1 s at each end.
    # They are shown with their third photo: with --seed, the first wanted people who have one.
    three = [n for n in WANTED if os.path.exists(photo(a.lfw, n, 3))]
    if len(three) < 2:
        print(f'cross.mp4 and return.mp4 not written: {len(three)} wanted with a third photo', file=sys.stderr)
        print(a.out)
        return 0
    a_name, b_name = three[0], three[1]
    a_img, b_img = photo(a.lfw, a_name, 3), photo(a.lfw, b_name, 3)
    steps, size, y = 20, 360, 180
    segs, spans, t = ['black:1'], [], 1.0
    for k in range(steps + 1):
        ax = round(40 + (W - size - 80) * k / steps)
        bx = W - size - ax
        secs = 1.0 if k in (0, steps) else 0.2
        jpg = os.path.join(a.out, f'cross-{k:02d}.jpg')
        compose(jpg, [(a_img, ax, y, size), (b_img, bx, y, size)])
        segs.append(f'{jpg}:{secs}')
        for name, x in ((a_name, ax), (b_name, bx)):
            spans.append({'identity': name, 'start': round(t, 3), 'end': round(t + secs, 3), 'box': [round(x / W, 4), round(y / H, 4), round(size / W, 4), round(size / H, 4)]})
        t += secs
    segs.append('black:1')
    out = os.path.join(a.out, 'cross.mp4')
    video(out, segs)
    write_truth(out.replace('.mp4', '.truth.json'), spans)

    # Leaves and comes back: another photo the second time.
    name = three[2] if len(three) > 2 else three[0]
    video(os.path.join(a.out, 'return.mp4'), ['black:1', f'{photo(a.lfw, name, 2)}:3', 'black:2', f'{photo(a.lfw, name, 3)}:3', 'black:1'])
    write_truth(os.path.join(a.out, 'return.truth.json'), [
        {'identity': name, 'start': 1, 'end': 4, 'box': centre},
        {'identity': name, 'start': 6, 'end': 9, 'box': centre},
    ])
    print(a.out)


if __name__ == '__main__':
    sys.exit(main())
