"""A report as a list of blocks (headings, paragraphs, tables, figures), rendered as Markdown and as a
standalone HTML page with the same content."""

from __future__ import annotations

import html
import os


class Document:
    """Blocks of a report rendered both as Markdown and as a standalone HTML page."""

    def __init__(self, title):
        self.title = title
        self.blocks = []

    def heading(self, text):
        self.blocks.append(("h2", text))

    def paragraph(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        if rows:
            self.blocks.append(("table", header, rows))

    def figure(self, path, caption):
        if path:
            self.blocks.append(("img", path, caption))

    def markdown(self, base):
        out = [f"# {self.title}", ""]
        for kind, *content in self.blocks:
            if kind == "h2":
                out += [f"## {content[0]}", ""]
            elif kind == "p":
                out += [content[0], ""]
            elif kind == "table":
                header, rows = content
                out += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
                out += ["| " + " | ".join(row) + " |" for row in rows] + [""]
            else:
                out += [f"![{content[1]}]({os.path.relpath(content[0], base)})", "", f"*{content[1]}*", ""]
        return "\n".join(out)

    def html(self, base):
        esc = html.escape
        out = [f"<!doctype html><meta charset='utf-8'><title>{esc(self.title)}</title>",
               "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
               "td,th{border:1px solid #ccc;padding:3px 8px}img{max-width:100%}</style>", f"<h1>{esc(self.title)}</h1>"]
        for kind, *content in self.blocks:
            if kind == "h2":
                out.append(f"<h2>{esc(content[0])}</h2>")
            elif kind == "p":
                out.append(f"<p>{esc(content[0])}</p>")
            elif kind == "table":
                header, rows = content
                out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
                out.append("</table>")
            else:
                out.append(f"<figure><img src='{esc(os.path.relpath(content[0], base))}'>"
                           f"<figcaption>{esc(content[1])}</figcaption></figure>")
        return "\n".join(out) + "\n"
