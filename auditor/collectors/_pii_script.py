"""The PII scanner that runs ON THE TARGET (`python3 -c SCRIPT '<json>'`): stdlib only, Python 3.8+.

It walks the folders, reads text, gzip and office files, finds CPR-number candidates and judges them there;
only counts, line numbers, masked samples (DDMMYY-XXXX) and HMAC-SHA-256 hashes are printed. The HMAC key is
made by the script itself (secrets.token_bytes) and never printed, so no key leaves the target or is stored:
hashes can be compared within one run of one host (the same number in two files), never reversed (the CPR
space is small enough to brute-force a plain hash, not an HMAC with a lost key).

Plain-text files are pre-filtered by GNU grep when the target has it (a C DFA is ~20x faster than Python's
`re` over bytes); grep's output goes through a pipe into this process and is judged here, so the full numbers
it prints never leave the target. Without a usable grep, or for gzip/office content, Python scans the bytes.
"""

from __future__ import annotations

SCRIPT = r'''
import datetime, fnmatch, gzip, hashlib, hmac, html, io, json, os, re, secrets, subprocess, sys, threading, time
import zipfile

A = json.loads(sys.argv[1])
KEY = secrets.token_bytes(32)
START = time.time()
DEADLINE = START + float(A.get("deadline", 1740))
MAX_BYTES = int(A.get("max_bytes", 256 << 20))
BULK = bool(A.get("bulk", False))
CAND = re.compile(rb"(?<![0-9])(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])([0-9]{2})[- ]?([0-9]{4})(?![0-9])")
GREP_CAND = "(^|[^0-9])(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}[- ]?[0-9]{4}([^0-9]|$)"
KW = re.compile(rb"cpr|personn(?:umme)?r|f(?:\xc3\xb8|\xc3\x98|\xf8|\xd8|o|oe)dselsn(?:umme)?r", re.I)
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(rb"(?<![A-Za-z0-9])DK([0-9]{2}) ?([0-9]{4}) ?([0-9]{4}) ?([0-9]{4}) ?([0-9]{2})(?![0-9])")
PATH_NUM = re.compile(r"(?<![0-9])([0-9]{6})[- ]?[0-9]{4}(?![0-9])")
JAN1 = {1960, 1962, 1964, 1965, 1966, 1967, 1969, 1970, 1974, 1975, 1978, 1980, 1981, 1982, 1983, 1984, 1985,
        1986, 1987, 1988, 1989, 1990, 1991, 1992, 1994, 1995}
WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
TODAY = datetime.date.today()
OFFICE = {".docx": ("word/",), ".xlsx": ("xl/sharedStrings", "xl/worksheets/"), ".pptx": ("ppt/slides/",),
          ".odt": ("content.xml",), ".ods": ("content.xml",), ".odp": ("content.xml",)}
XML_BREAK = re.compile(rb"</(?:w:p|a:p|text:p|text:h|si|c|row|table:table-cell)>")
XML_TAG = re.compile(rb"<[^>]*>")
XLSX_NUM = re.compile(rb"<v>([0-9]{9})</v>")
MAX_SAMPLES, MAX_LINES, MAX_FILES, MAX_DISTINCT = 5, 20, 2000, 100000
LOCK = threading.Lock()
STATS = ("files_seen", "files_scanned", "bytes_scanned", "skipped_binary", "skipped_large", "unreadable",
         "depth_limited", "rejected_dates")
R = {}
FILES = {}
ERRORS = []
INCOMPLETE = []


def mask(text):
    return PATH_NUM.sub(lambda m: m.group(1) + "-XXXX", text)


def year_of(yy, d7):
    if d7 <= 3:
        return 1900 + yy
    if d7 in (4, 9):
        return (2000 if yy <= 36 else 1900) + yy
    return (2000 if yy <= 57 else 1800) + yy


def judge(line, lineno, header_kw, rec):
    for m in CAND.finditer(line):
        dd, mm, yy, serial = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
        year = year_of(yy, serial[0] - 48)
        try:
            born = datetime.date(year, mm, dd)
        except ValueError:
            born = None
        if born is None or born > TODAY:
            rec["rejected"] += 1
            continue
        digits = m.group(1) + m.group(2) + m.group(3) + serial
        if sum(w * (c - 48) for w, c in zip(WEIGHTS, digits)) % 11 == 0:
            conf, why = "high", "modulus 11"
        elif header_kw or KW.search(line, max(0, m.start() - 64), m.end() + 32):
            conf, why = "high", "keyword"
        elif dd == 1 and mm == 1 and year in JAN1:
            conf, why = "medium", "1 January without check digit"
        else:
            conf, why = "low", "date only"
        rec[conf] += 1
        if len(rec["distinct"]) < MAX_DISTINCT:
            rec["distinct"].add(digits)
        if len(rec["lines"]) < MAX_LINES and (not rec["lines"] or rec["lines"][-1] != lineno):
            rec["lines"].append(lineno)
        if len(rec["samples"]) < MAX_SAMPLES:
            rec["samples"].append({"line": lineno, "masked": digits[:6].decode() + "-XXXX", "confidence": conf,
                                   "reason": why, "hmac": hmac.new(KEY, digits, hashlib.sha256).hexdigest()})


def bulk(line, rec):
    if b"@" in line:
        rec["emails"] += len(EMAIL.findall(line))
    if b"DK" in line:
        for m in IBAN.finditer(line):
            if int(b"".join(m.groups()[1:]) + b"1320" + m.group(1)) % 97 == 1:
                rec["ibans"] += 1


def new_rec():
    return {"high": 0, "medium": 0, "low": 0, "rejected": 0, "distinct": set(), "lines": [], "samples": [],
            "emails": 0, "ibans": 0, "truncated": False}


def scan_buffer(buf, first_line, header_kw, rec):
    """Judge every line of buf holding a candidate; returns the number of lines in buf."""
    last = -1
    line_no, counted = first_line, 0
    for m in CAND.finditer(buf):
        start = buf.rfind(b"\n", 0, m.start()) + 1
        if start == last:
            continue
        last = start
        line_no += buf.count(b"\n", counted, start)
        counted = start
        end = buf.find(b"\n", m.end())
        judge(buf[start:end if end >= 0 else len(buf)], line_no, header_kw, rec)
    if BULK:
        for line in buf.split(b"\n"):
            if b"@" in line or b"DK" in line:
                bulk(line, rec)
    return buf.count(b"\n")


def scan_stream(read, header_kw, rec):
    """Scan a stream in 4 MB pieces cut at line ends (a number split across lines is never joined)."""
    carry, line_no, total = b"", 1, 0
    while True:
        chunk = read(4 << 20)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_BYTES:
            rec["truncated"] = True
            break
        buf = carry + chunk
        cut = buf.rfind(b"\n") + 1
        if cut == 0 and len(buf) < (16 << 20):
            carry = buf
            continue
        cut = cut or len(buf)
        line_no += scan_buffer(buf[:cut], line_no, header_kw, rec)
        carry = buf[cut:]
        if time.time() > DEADLINE:
            rec["truncated"] = True
            return total
    if carry:
        scan_buffer(carry, line_no, header_kw, rec)
    return total


def office_text(path, ext):
    parts = []
    size = 0
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.startswith(OFFICE[ext]) or not info.filename.endswith(".xml"):
                continue
            size += info.file_size
            if size > MAX_BYTES:
                break
            xml = z.read(info)
            if ext == ".xlsx":
                xml = XLSX_NUM.sub(rb"<v>0\1</v>", xml)  # Excel drops the leading zero of a number cell
            xml = XML_TAG.sub(b"", XML_BREAK.sub(b"\n", xml))
            parts.append(html.unescape(xml.decode("utf-8", "replace")).encode("utf-8"))
    return b"\n".join(parts)


def record(path, root, kind, rec):
    found = rec["high"] + rec["medium"] + rec["low"] + rec["emails"] + rec["ibans"]
    with LOCK:
        R[root]["rejected_dates"] += rec["rejected"]
        if not found and not rec["truncated"]:
            return
        if len(FILES) >= MAX_FILES:
            INCOMPLETE.append("file list cut at %d files" % MAX_FILES)
            return
        entry = FILES.setdefault((root, path), {"path": mask(path), "root": root, "kind": kind, "high": 0, "medium": 0,
                                        "low": 0, "distinct": 0, "lines": [], "samples": [], "emails": 0,
                                        "ibans": 0, "truncated": False})
        for key in ("high", "medium", "low", "emails", "ibans"):
            entry[key] += rec[key]
        entry["distinct"] += len(rec["distinct"])
        entry["lines"] = (entry["lines"] + rec["lines"])[:MAX_LINES]
        entry["samples"] = (entry["samples"] + rec["samples"])[:MAX_SAMPLES]
        entry["truncated"] = entry["truncated"] or rec["truncated"]


def header_keyword(path):
    low = path.lower()
    if not low.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        return False
    with (gzip.open if low.endswith(".gz") else open)(path, "rb") as f:
        return bool(KW.search(f.readline(4096)))


def scan_python(path, root, kind):
    rec = new_rec()
    ext = os.path.splitext(path)[1].lower()
    if kind == "gzip":
        with gzip.open(path, "rb") as f:
            n = scan_stream(f.read, header_keyword(path), rec)
    elif kind == "office":
        text = office_text(path, ext)
        n = scan_stream(io.BytesIO(text).read, False, rec)
    else:
        with open(path, "rb") as f:
            n = scan_stream(f.read, header_keyword(path), rec)
    with LOCK:
        R[root]["files_scanned"] += 1
        R[root]["bytes_scanned"] += n
    record(path, root, kind, rec)


def error(path, root, exc):
    with LOCK:
        R[root]["unreadable"] += 1
        if len(ERRORS) < 50:
            ERRORS.append({"path": mask(path), "error": type(exc).__name__ + (": " + exc.strerror
                                                                            if getattr(exc, "strerror", None) else "")})


def classify(path, size):
    low = path.lower()
    ext = os.path.splitext(low)[1]
    if size > MAX_BYTES:
        return "large"
    with open(path, "rb") as f:
        head = f.read(8192)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"PK\x03\x04":
        return "office" if ext in OFFICE else "binary"
    return "binary" if b"\0" in head else "text"


def wanted(path):
    return not any(fnmatch.fnmatch(path, g) or fnmatch.fnmatch(path + "/", g) for g in A.get("exclude", []))


def walk(root):
    depth_max = int(A.get("max_depth", 12))
    include = A.get("include", [])
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            error(folder, root, exc)
            continue
        for e in entries:
            if not wanted(e.path):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    if depth + 1 > depth_max:
                        R[root]["depth_limited"] += 1
                    else:
                        stack.append((e.path, depth + 1))
                elif e.is_file(follow_symlinks=False):
                    if include and not any(fnmatch.fnmatch(e.name, g) or fnmatch.fnmatch(e.path, g)
                                           for g in include):
                        continue
                    yield e.path, e.stat(follow_symlinks=False).st_size
            except OSError as exc:
                error(e.path, root, exc)


def grep_works(argv=("grep", "-aZnHE", "--label=x", "-e", "x", "-"), expect=1):
    try:
        p = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           env=dict(os.environ, LC_ALL="C"), timeout=10)
        return p.returncode == expect
    except Exception:
        return False


def grep_argv():
    return ["grep", "-asZnHE", "-e", GREP_CAND] + (["-e", "@", "-e", "DK[0-9]{2}"] if BULK else [])


def consume(proc, recs):
    """Judge every line grep printed ("path\\0line:text"); numbers stay inside this process."""
    headers = {}
    for raw in proc.stdout:
        name, _, rest = raw.partition(b"\0")
        no, _, line = rest.partition(b":")
        path = os.fsdecode(name)
        rec = recs.get(path)
        if rec is None:
            rec = recs[path] = new_rec()
        if path not in headers:
            try:
                headers[path] = header_keyword(path)
            except OSError:
                headers[path] = False
        line = line.rstrip(b"\n")
        judge(line, int(no) if no.isdigit() else 0, headers[path], rec)
        if BULK:
            bulk(line, rec)
        if time.time() > DEADLINE:
            proc.kill()
            INCOMPLETE.append("stopped at the time limit")
            break
    proc.wait()


def grep_batch(batch):
    """grep pre-filters the lines of many plain-text files at once."""
    recs = {}
    proc = subprocess.Popen(grep_argv() + ["--"] + [p for p, _, _ in batch], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C"))
    consume(proc, recs)
    with LOCK:
        for path, size, root in batch:
            R[root]["files_scanned"] += 1
            R[root]["bytes_scanned"] += size
    for path, _, root in batch:
        if path in recs:
            record(path, root, "text", recs[path])


def grep_gzip(path, root):
    """gzip -dc | grep, two processes joined by a pipe (no shell); bytes counted are the compressed size."""
    env = dict(os.environ, LC_ALL="C")
    unzip = subprocess.Popen(["gzip", "-dc", "--", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    grep = subprocess.Popen(grep_argv() + ["--label=" + path, "-"], stdin=unzip.stdout, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    unzip.stdout.close()
    recs = {}
    consume(grep, recs)
    if unzip.wait() != 0:
        raise OSError(0, "not a readable gzip file")
    with LOCK:
        R[root]["files_scanned"] += 1
        R[root]["bytes_scanned"] += os.path.getsize(path)
    if path in recs:
        record(path, root, "gzip", recs[path])


def main():
    roots = []
    text_files, other = [], []
    for root in A.get("roots", []):
        info = R.setdefault(root, dict({k: 0 for k in STATS}, path=root, exists=os.path.isdir(root), problem=""))
        if info in roots:
            continue
        if not info["exists"]:
            info["problem"] = "does not exist" if not os.path.exists(root) else "is not a folder"
        roots.append(info)
        if not info["exists"]:
            continue
        for path, size in walk(root):
            info["files_seen"] += 1
            try:
                kind = classify(path, size)
            except OSError as exc:
                error(path, root, exc)
                continue
            if kind in ("large", "binary"):
                info["skipped_" + kind] += 1
            elif kind == "text":
                text_files.append((path, size, root))
            else:
                other.append((path, root, kind))
    use_grep = not A.get("no_grep") and grep_works()
    jobs = []
    if use_grep and text_files:
        total = sum(s for _, s, _ in text_files)
        cut = max(total // (4 * (os.cpu_count() or 1)), 1 << 20)
        batch, size = [], 0
        for item in text_files:
            batch.append(item)
            size += item[1]
            if size >= cut or len(batch) >= 500:
                jobs.append(("grep", batch))
                batch, size = [], 0
        if batch:
            jobs.append(("grep", batch))
    else:
        other = [(p, r, "text") for p, _, r in text_files] + other
    gz = use_grep and grep_works(["gzip", "--version"], 0)
    jobs += [("gzgrep" if gz and item[2] == "gzip" else "python", item) for item in other]

    def run(job):
        if time.time() > DEADLINE:
            INCOMPLETE.append("stopped at the time limit")
            return
        how, item = job
        if how == "gzgrep":
            try:
                return grep_gzip(item[0], item[1])
            except OSError:
                pass  # gzip could not read it: Python reads it or says why
        if how == "grep":
            try:
                grep_batch(item)
            except OSError as exc:
                error(item[0][0], item[0][2], exc)
            return
        try:
            scan_python(*item)
        except Exception as exc:  # a broken gzip or office file is counted, never fatal
            error(item[0], item[1], exc)

    workers = max(1, min(os.cpu_count() or 1, 8))
    threads = [threading.Thread(target=lambda w=w: [run(j) for j in jobs[w::workers]]) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = {"version": 1, "bulk": BULK, "python": "%d.%d.%d" % sys.version_info[:3], "method": "grep+python" if use_grep
           else "python", "roots": roots, "files": sorted(FILES.values(), key=lambda f: f["path"]),
           "errors": ERRORS, "incomplete": sorted(set(INCOMPLETE)), "seconds": round(time.time() - START, 3)}
    sys.stdout.write(json.dumps(out, sort_keys=True))


try:
    main()
except BaseException as exc:  # only the kind of error is printed: a message could quote file content
    sys.stdout.write(json.dumps({"version": 1, "fatal": type(exc).__name__}))
'''
