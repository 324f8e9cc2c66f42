#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Figures in the docs say where they come from. The rule (docs/testing.md,
# "Figures in the docs"), for README.md and docs/*.md:
#
# - A block is a run of non-blank lines (a fenced code block is one block,
#   blank lines included). A heading ends a section.
# - A block holds a measurement when, outside inline code and HTML
#   comments, it has a number followed by a time unit (ns, us, µs, ms, s,
#   sec, seconds, min, minutes), a rate (MiB/s, GiB/s, KiB/s, MB/s, GB/s,
#   ops/s), or a ratio ("1.5x", "x1.59", "×2", "ratio 0.52",
#   "speedup 5.21", "3 times faster").
# - Such a block carries its provenance: a command and the date it ran,
#   either visible, a parenthesis that quotes the command in backticks
#   and ends with the date, "(`COMMAND`, YYYY-MM-DD)" (other words and
#   several commands may come before the date), or as a comment,
#   "<!-- measured: COMMAND, YYYY-MM-DD -->". A table or code block may
#   instead take it from its caption: the nearest prose block above it in
#   the same section. The date is a real calendar date, not after today.
# - Figures that are settings, limits or arithmetic rather than
#   measurements (a 240 s timeout, a 300 ms stress run) are declared so:
#   "<!-- not measured: WHAT THEY ARE -->" in the block or its caption.
# - Test counts ("44 tests", "3 passed", "Tested: 30") drift with every
#   test added and are not written in prose at all; in a fenced block of
#   quoted output they are measurements like any other.
#
# Usage: docs_figures.sh DIR [TODAY]   (checks DIR/README.md, DIR/docs/*.md;
# TODAY defaults to the current UTC date, YYYY-MM-DD)
set -euo pipefail
dir="$1"
today="${2:-$(date -u +%F)}"
files=()
[ -f "$dir/README.md" ] && files+=("$dir/README.md")
for f in "$dir"/docs/*.md; do [ -f "$f" ] && files+=("$f"); done
[ "${#files[@]}" -gt 0 ] || { echo "no docs under $dir" >&2; exit 2; }

LC_ALL=C awk -v today="$today" -v root="$dir/" '
function valid_date(d,    y, m, dd, mdays) {
    if (d !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/) return 0
    y = substr(d, 1, 4) + 0; m = substr(d, 6, 2) + 0; dd = substr(d, 9, 2) + 0
    if (m < 1 || m > 12 || dd < 1) return 0
    mdays = (m == 2) ? ((y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28) \
          : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31
    return dd <= mdays && d <= today
}
# Provenance of a block: "ok", "exempt", "bad:<why>" or "" (none).
function provenance(t,    s, p, d, found) {
    s = t; found = ""
    gsub(/`[^`]*`/, " ", s)  # a comment quoted as inline code is no comment
    while (match(s, /<!--[ ]*measured:[^>]*-->/)) {
        p = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
        if (!match(p, /measured:[ ]*[^ ,][^>]*,[ ]*[0-9-]+[ ]*-->/))
            return "bad:measured comment without a command and a date"
        match(p, /[0-9][0-9-]*[ ]*-->$/); d = substr(p, RSTART, RLENGTH)
        sub(/[ ]*-->$/, "", d)
        if (!valid_date(d)) return "bad:date " d " is not a real date up to " today
        found = "ok"
    }
    s = t
    while (match(s, /\([^()]*`[^`]+`[^()]*,[ ]*[0-9][0-9-]*\)/)) {
        p = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
        match(p, /[0-9][0-9-]*\)$/); d = substr(p, RSTART, RLENGTH - 1)
        if (!valid_date(d)) return "bad:date " d " is not a real date up to " today
        found = "ok"
    }
    if (found != "") return found
    s = t; gsub(/`[^`]*`/, " ", s)
    if (match(s, /<!--[ ]*not measured:[ ]*[^ -][^>]*-->/)) return "exempt"
    return ""
}
# Text a figure is looked for in: no HTML comments, no inline code.
function figure_text(t, fenced) {
    gsub(/<!--([^-]|-[^-])*-->/, " ", t)
    if (!fenced) gsub(/`[^`]*`/, " ", t)
    return " " t " "
}
# First measurement-like figure in t, or "".
function figure(t,    s, f, rest) {
    if (match(t, /[^A-Za-z0-9_.][0-9][0-9,]*(\.[0-9]+)?([-–][0-9][0-9,]*(\.[0-9]+)?)?( | )?(ns|us|µs|ms|s|sec|seconds|min|minutes)[^A-Za-z0-9_]/))
        return substr(t, RSTART + 1, RLENGTH - 2)
    if (match(t, /[^A-Za-z0-9_.][0-9][0-9,]*(\.[0-9]+)?( | )?(MiB|GiB|KiB|MB|GB|ops|frames|allocations)\/s/))
        return substr(t, RSTART + 1, RLENGTH - 1)
    if (match(t, /[^A-Za-z0-9_](x|×)[0-9]+\.[0-9]+[^A-Za-z0-9_]/))
        return substr(t, RSTART + 1, RLENGTH - 2)
    s = t
    while (match(s, /[^A-Za-z0-9_.][0-9][0-9]*(\.[0-9]+)?([-–][0-9]+(\.[0-9]+)?)?[ ]?(x|×)[^A-Za-z0-9_]/)) {
        f = substr(s, RSTART + 1, RLENGTH - 2); rest = substr(s, RSTART + RLENGTH - 1)
        s = substr(s, RSTART + RLENGTH - 1)
        if (rest !~ /^[ ]?[0-9]/) return f  # "2 x 1 GiB" is a product
    }
    if (match(t, /([Rr]atios?|[Ss]peedups?)( of)?[ ]+[0-9]+(\.[0-9]+)?/))
        return substr(t, RSTART, RLENGTH)
    if (match(t, /[^A-Za-z0-9_.][0-9]+(\.[0-9]+)? times (faster|slower|cheaper|more|less|as)/))
        return substr(t, RSTART + 1, RLENGTH - 1)
    return ""
}
function test_count(t) {
    if (match(t, /[^A-Za-z0-9_.-][0-9][0-9,]*[ ]+(tests?|test cases|passed|failed|skipped)[^A-Za-z0-9_]/))
        return substr(t, RSTART + 1, RLENGTH - 2)
    if (match(t, /Tested: [0-9]+/)) return substr(t, RSTART, RLENGTH)
    return ""
}
function report(msg) {
    printf "%s:%d: %s\n", fname, bstart, msg
    bad++
}
function end_block(    kind, p, f, c, cap_p) {
    if (btext == "") return
    kind = btype
    p = provenance(btext)
    if (p ~ /^bad:/) report(substr(p, 5))
    f = figure(figure_text(btext, kind == "fence"))
    if (kind != "fence") {
        c = test_count(figure_text(btext, 0))
        if (c != "")
            report("test count \"" c "\" in prose: counts drift, drop it")
    }
    if (f != "" && p == "") {
        cap_p = (kind == "prose") ? "" : caption
        if (cap_p != "ok" && cap_p != "exempt")
            report("\"" f "\" without a command and a date (\"(`cmd`, YYYY-MM-DD)\" or <!-- measured: cmd, YYYY-MM-DD -->)")
    }
    if (kind == "prose") caption = (p ~ /^bad:/) ? "" : p
    btext = ""; btype = ""
}
FNR == 1 { if (NR > 1) end_block(); fname = FILENAME; sub("^" root, "", fname); infence = 0; caption = ""; btext = "" }
{
    line = $0
    if (infence) {
        btext = btext " " line
        if (line ~ /^[ ]*(```|~~~)/) { infence = 0; end_block() }
        next
    }
    if (line ~ /^[ ]*(```|~~~)/) {
        end_block(); infence = 1; btype = "fence"; bstart = FNR; btext = " "
        next
    }
    if (line ~ /^[ \t]*$/) { end_block(); next }
    if (line ~ /^#/) { end_block(); caption = ""; next }
    if (btext == "") {
        bstart = FNR
        btype = (line ~ /^[ ]*\|/) ? "table" : (line ~ /^(    |\t)/) ? "code" : "prose"
    }
    btext = btext " " line
}
END {
    end_block()
    if (bad) { printf "docs figures: %d problem(s)\n", bad; exit 1 }
    print "docs figures: every measurement has a command and a date; no test counts in prose"
}' "${files[@]}"
