#!/usr/bin/env node
'use strict';
// What Mattermost shows of a post, for the tests: `node show.js < posts.json` reads a JSON
// list of post texts and writes a JSON list, one description per post. With `--text`, it
// reads one post as it is and writes what a reader sees (README.md's examples).
//
// The post goes where a webhook post goes:
//   1. the server (model below): `<!channel>` and the like become mentions, Slack links
//      `<url|text>` become Markdown links (mattermost/mattermost server/channels/app/
//      webhook.go HandleIncomingWebhook, CreateWebhookPost; slack.go ProcessSlackText);
//   2. the web app's pre-processing of its marked fork (mattermost/marked lib/marked.js,
//      Lexer.prototype.lex): `\r\n` and `\r` become `\n`, a tab four spaces, U+00A0 a space
//      and U+2424 a line break;
//   3. marked 0.3.6 itself (npm, the fork's upstream, pinned by package-lock.json) with the
//      web app's options (webapp/channels/src/utils/markdown/index.ts formatWithRenderer:
//      sanitize, gfm, tables, no mangle): the blocks and, in each, the inline pieces;
//   4. what the web app does to each text piece, never to a code span (utils/markdown/
//      renderer.tsx: only `text()` calls doFormatText; utils/text_formatting.tsx
//      doFormatText): mentions, `~channel` links, e-mail addresses, `#hashtags`, emoticons;
//      and its URL autolinker (utils/markdown/autolink.ts matchGFMUrl), which also links
//      `scheme:` without `//`, `www1.` hosts and `host.tld/` paths (model below: it is
//      looked for anywhere in a text piece, which finds at least what the web app links);
//   5. the server's mention parser, over the text pieces only (server/channels/app/
//      notification.go getExplicitMentions: only Text nodes; mention_parser_standard.go
//      ProcessText).
// The model is small on purpose: it finds, in text pieces, anything the web app could turn
// into a link, a mention, a channel link, a hashtag, an e-mail link or an emoticon. What the
// watcher writes itself holds none of that but its emoji and the configured mention.

const marked = require('marked');

if (marked.defaults && require('marked/package.json').version !== '0.3.6') {
  throw new Error('tests/mattermost needs marked 0.3.6 (npm ci --prefix tests/mattermost)');
}

// --- 1. the server -----------------------------------------------------------------------
// slack.go expandAnnouncement: plain replacements anywhere, code spans included.
const ANNOUNCEMENTS = ['<!channel>', '<!here>', '<!all>'];
// slack.go replaceUserIds: `<@ID>`; webhook.go linkWithTextRegex.
const SLACK_USER = /<@[a-zA-Z0-9]+>/g;
const SLACK_LINK = /<([^\n<|>]+)\|([^|\n>]+)>/g;

function server(text) {
  const rewrites = [];
  for (const a of ANNOUNCEMENTS) if (text.includes(a)) rewrites.push(a);
  for (const m of text.matchAll(SLACK_USER)) rewrites.push(m[0]);
  let stored = text;
  for (const a of ANNOUNCEMENTS) stored = stored.split(a).join('@' + a.slice(2, -1));
  stored = stored.replace(SLACK_LINK, (all, url, label) => {
    rewrites.push(all);
    return `[${label}](${url})`;
  });
  return { stored, rewrites };
}

// --- 2. the fork's pre-processing ---------------------------------------------------------
function preprocess(text) {
  return text
    .replace(/\r\n|\r/g, '\n')
    .replace(/\t/g, '    ')
    .replace(/\u00a0/g, ' ')
    .replace(/\u2424/g, '\n');
}

// --- 4. the web app on a text piece ------------------------------------------------------
// utils/constants.tsx SPECIAL_MENTIONS_REGEX and text_formatting.tsx AT_MENTION_PATTERN.
const MENTION = /(?:\B|\b_+)@([a-z0-9.\-_]+)/gi;
// text_formatting.tsx autolinkChannelMentions: any name (a real server knows which exist).
const CHANNEL = /\B~([a-z0-9.\-_]+)/gi;
// text_formatting.tsx emailRegex (simplified: a local part, `@`, a host with a 2-5 letter end).
const EMAIL = /[\p{L}\d.!#$%&'*+/=?^_`{|}~-]+@[\p{L}\d-]+(?:\.[\p{L}\d-]+)*\.\p{L}{2,5}/gu;
// text_formatting.tsx hashtagRegex (three characters at least after `#`).
const HASHTAG = /(?:^|[^\p{L}\d_])(#\p{L}[\p{L}\d\-_.]*[\p{L}\d])/gu;
// utils/emoticons.tsx EMOJI_PATTERN and the text smileys of emoticonPatterns.
const EMOJI = /(?<!\w)(:([\w+-]+):)(?!\w)/g;
const SMILEYS = [':)', ';)', ':o', ':-o', ':]', ':D', 'x-d', ':p', ':@', ':(', ':`(', ':/', ':s', ':|', ':$', ':-x', '<3', '</3', ':-)', ':-(', ':-D', ':-p', ':-/', ':-|', ';-)', ':-]'];
// utils/markdown/autolink.ts URL_PREFIX (a scheme with or without `//`, `www` with a
// number, `host.tld/`), and the schemes index.ts lets through.
const URL = /(?:\b[A-Za-z][A-Za-z\d.+-]*:(?:\/{1,3}|[\p{L}\d%])|\bwww\d{0,3}\.|[\p{L}\d.-]+\.\p{L}{2,4}\/)/gu;
const SCHEMES = ['http', 'https', 'ftp', 'mailto', 'tel', 'mattermost'];

function formatting(text, found) {
  for (const m of text.matchAll(MENTION)) found.mentions.push('@' + m[1]);
  for (const m of text.matchAll(CHANNEL)) found.channels.push('~' + m[1]);
  for (const m of text.matchAll(EMAIL)) found.emails.push(m[0]);
  for (const m of text.matchAll(HASHTAG)) found.hashtags.push(m[1]);
  for (const m of text.matchAll(EMOJI)) found.emoticons.push(m[2]);
  for (const s of SMILEYS) {
    let at = -1;
    while ((at = text.indexOf(s, at + 1)) !== -1) {
      const before = at === 0 ? ' ' : text[at - 1];
      const after = text[at + s.length] || ' ';
      if (/\s/.test(before) && /\s/.test(after)) found.emoticons.push(s);
    }
  }
  for (const m of text.matchAll(URL)) {
    const scheme = /^([A-Za-z][A-Za-z\d.+-]*):/.exec(m[0]);
    if (!scheme || SCHEMES.includes(scheme[1])) found.links.push(m[0]);
  }
}

// --- 5. the server's mention parser, on a text piece --------------------------------------
function serverMentions(text, found) {
  for (const word of text.split(/[^:.\-_@\p{L}\p{N}]+/u)) {
    const w = word.replace(/^[:.\-_]+/, '').replace(/[.\-:_]+$/, '');
    if (w.startsWith('@') && w.length > 1) found.serverMentions.push(w);
  }
}

// --- 3. marked, block by block -----------------------------------------------------------
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
function decode(html) {
  return html.replace(/&(#\d+|#x[0-9a-f]+|\w+);/gi, (all, r) => {
    if (r[0] === '#') {
      const n = r[1] === 'x' || r[1] === 'X' ? parseInt(r.slice(2), 16) : parseInt(r.slice(1), 10);
      return String.fromCodePoint(n);
    }
    return ENTITIES[r] !== undefined ? ENTITIES[r] : all;
  });
}

const OPTIONS = { gfm: true, tables: true, sanitize: true, mangle: false, breaks: false };

// The inline pieces of one block's text: [{kind, text, marks}], kind `text` or `code`
// (`br`, `image`), marks the spans around it (`strong`, `em`, `del`, `link`); text pieces
// go through the web app's formatting. Each renderer call returns a token naming its piece,
// so that a span around pieces can mark them.
function inline(src, found) {
  const pieces = [];
  const piece = (kind, text) => {
    pieces.push({ kind, text, marks: [] });
    return `\u0000${pieces.length - 1}\u0001`;
  };
  const within = (html) => [...html.matchAll(/\u0000(\d+)\u0001/g)].map((m) => Number(m[1]));
  const mark = (kind) => (html) => {
    for (const i of within(html)) pieces[i].marks.push(kind);
    return html;
  };
  const renderer = new marked.Renderer();
  renderer.text = (t) => {
    const text = decode(t);
    formatting(text, found);
    serverMentions(text, found);
    return piece('text', text);
  };
  renderer.codespan = (t) => piece('code', decode(t));
  renderer.link = (href, title, html) => {
    found.links.push(decode(href));
    return mark('link')(html || piece('text', decode(href)));
  };
  renderer.image = (href) => {
    found.links.push(decode(href));
    return piece('image', '');
  };
  renderer.strong = mark('strong');
  renderer.em = mark('em');
  renderer.del = mark('del');
  renderer.br = () => piece('br', '\n');
  const lexer = new marked.InlineLexer({}, Object.assign({}, OPTIONS, { renderer }));
  const out = lexer.output(src);
  // Escapes (`\_`) are written out without the renderer in 0.3.6: text between tokens.
  const ordered = [];
  for (const part of out.split(/(\u0000\d+\u0001)/)) {
    const m = /^\u0000(\d+)\u0001$/.exec(part);
    if (m) ordered.push(pieces[Number(m[1])]);
    else if (part) {
      const text = decode(part);
      formatting(text, found);
      ordered.push({ kind: 'text', text, marks: [] });
    }
  }
  return ordered;
}

function show(post) {
  const found = { links: [], mentions: [], channels: [], emails: [], hashtags: [], emoticons: [], serverMentions: [] };
  const { stored, rewrites } = server(post);
  const blocks = [];
  const block = (kind, fields) => blocks.push(Object.assign({ kind }, fields));
  const visible = (pieces) => pieces.map((p) => p.text).join('');
  let list = null;
  for (const t of marked.lexer(preprocess(stored), OPTIONS)) {
    switch (t.type) {
      case 'heading': {
        const pieces = inline(t.text, found);
        block('heading', { level: t.depth, pieces, text: visible(pieces) });
        break;
      }
      case 'table': {
        const rows = [t.header].concat(t.cells).map((row) =>
          row.map((cell) => {
            const pieces = inline(cell, found);
            return { pieces, text: visible(pieces) };
          }));
        block('table', { rows });
        break;
      }
      case 'list_start':
        list = { ordered: t.ordered, items: [] };
        block('list', list);
        break;
      case 'list_item_start':
        list.items.push({ pieces: [], text: '' });
        break;
      case 'text': {
        const item = list && list.items[list.items.length - 1];
        const pieces = inline(t.text, found);
        if (item) {
          item.pieces = item.pieces.concat(pieces);
          item.text = visible(item.pieces);
        } else {
          block('paragraph', { pieces, text: visible(pieces) });
        }
        break;
      }
      case 'list_end':
        list = null;
        break;
      case 'paragraph': {
        const pieces = inline(t.text, found);
        block('paragraph', { pieces, text: visible(pieces) });
        break;
      }
      case 'space':
      case 'list_item_end':
        break;
      default:
        // blockquote_start, hr, code, html...: none belongs in a post of the watcher's.
        block(t.type, { text: t.text || '' });
    }
  }
  return { runes: [...post].length, rewrites, blocks, found };
}

// The visible text: blocks apart, a table's columns aligned (its empty head row left
// out), list items with a bullet, emoji as their names.
function asText(shown) {
  return shown.blocks.map((b) => {
    if (b.kind === 'table') {
      const rows = b.rows.filter((r) => r.some((c) => c.text !== ''));
      const width = Math.max(...rows.map((r) => [...r[0].text].length));
      return rows.map((r) => r[0].text.padEnd(width) + '   ' + r.slice(1).map((c) => c.text).join('   ')).join('\n');
    }
    if (b.kind === 'list') return b.items.map((i) => '• ' + i.text).join('\n');
    return b.text;
  }).join('\n\n');
}

const stdin = require('fs').readFileSync(0, 'utf8');
if (process.argv.includes('--text')) {
  process.stdout.write(asText(show(stdin.replace(/\n$/, ''))) + '\n');
} else {
  process.stdout.write(JSON.stringify(JSON.parse(stdin).map(show)) + '\n');
}
