"""Turns the exported Markdown (headings, paragraphs, lists, tables, images, code spans) into one HTML page."""
import html, re, sys

def inline(t):
    t = html.escape(t)
    t = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2" style="max-width:100%">', t)
    t = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)

out, in_list, table = [], False, []
def flush_table():
    global table
    if table:
        rows = [r for r in table if not re.match(r"^\|[-| ]+\|$", r)]
        out.append("<table border=1 cellpadding=3>" + "".join(
            "<tr>" + "".join(("<th>%s</th>" if i == 0 else "<td>%s</td>") % inline(c.strip()) for c in r.strip("|").split("|")) + "</tr>"
            for i, r in enumerate(rows)) + "</table>")
        table = []
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("|"):
        table.append(line); continue
    flush_table()
    if line.startswith("- "):
        if not in_list: out.append("<ul>"); in_list = True
        out.append("<li>%s</li>" % inline(line[2:])); continue
    if in_list: out.append("</ul>"); in_list = False
    m = re.match(r"^(#+) (.*)", line)
    if m: out.append("<h%d>%s</h%d>" % (len(m.group(1)), inline(m.group(2)), len(m.group(1))))
    elif line.strip(): out.append("<p>%s</p>" % inline(line))
flush_table()
if in_list: out.append("</ul>")
print("<!doctype html><meta charset=utf-8><title>pipsqueak reproduction</title><body style='font-family:sans-serif;max-width:1000px;margin:auto'>")
print("\n".join(out))
