#!/usr/bin/env python3
"""Renders chat templates exactly as transformers' apply_chat_template does,
with Debian's python3-jinja2: the oracle for src/model/jinja_template_test.cc.

usage: chat_template_ref.py CASES.json OUT.json
       chat_template_ref.py render TOKENIZER_CONFIG.json MESSAGES.json AGP OUT.txt
         (one conversation, as `aftune chat render` renders it: the template
         and special tokens of TOKENIZER_CONFIG.json, AGP "1" or "0")

CASES.json: {"now_unix": T, "templates": {name: {"file": path relative to
CASES.json's folder, "variables": {...}}}, "conversations": [{"name", "messages",
optional "tools", optional "variables"}]}.
OUT.json: one entry per (template, conversation, add_generation_prompt) in
that order: {"template", "conversation", "add_generation_prompt", and "text"
(the rendered string) or "error" (the exception's message)}.

The environment is transformers' (utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension and a {% generation %} tag, its tojson filter
(json.dumps, ensure_ascii=False, no HTML escaping) and its raise_exception
and strftime_now globals; strftime_now formats the fixed time now_unix so
that both sides agree. render() gets messages, tools (None when absent),
documents=None, add_generation_prompt and the template's variables (the
special tokens), as apply_chat_template passes them.
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    """{% generation %}...{% endgeneration %}: renders its body (transformers'
    AssistantTracker, which also records the span for assistant masks)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env(now_unix):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.fromtimestamp(now_unix).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def token_text(v):
    return v["content"] if isinstance(v, dict) else v


def render_one(config_path, messages_path, agp, out_path):
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    with open(messages_path, encoding="utf-8") as f:
        messages = json.load(f)
    template = config["chat_template"]
    if isinstance(template, list):
        template = next(t["template"] for t in template if t["name"] == "default")
    kwargs = {k: token_text(config[k]) for k in SPECIAL_TOKENS if config.get(k) is not None}
    text = make_env(0).from_string(template).render(messages=messages, tools=None, documents=None,
                                                     add_generation_prompt=agp == "1", **kwargs)
    with open(out_path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main():
    if sys.argv[1] == "render":
        render_one(*sys.argv[2:6])
        return
    cases_path, out_path = sys.argv[1], sys.argv[2]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    env = make_env(cases["now_unix"])
    base = os.path.dirname(os.path.abspath(cases_path))
    out = []
    for tname, t in cases["templates"].items():
        with open(os.path.join(base, t["file"]), encoding="utf-8", newline="") as f:
            compiled = env.from_string(f.read())
        for conv in cases["conversations"]:
            for agp in (False, True):
                kwargs = dict(t.get("variables", {}))
                kwargs.update(conv.get("variables", {}))
                entry = {"template": tname, "conversation": conv["name"], "add_generation_prompt": agp}
                try:
                    entry["text"] = compiled.render(messages=conv["messages"], tools=conv.get("tools"),
                                                    documents=None, add_generation_prompt=agp, **kwargs)
                except Exception as e:  # the C++ side must fail too
                    entry["error"] = f"{type(e).__name__}: {e}"
                out.append(entry)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
