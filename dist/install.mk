# Makefile of the release tarball (shipped as `Makefile` at its top): installs, uninstalls
# and checks atvm-run-watcher on the controller, and nothing else. Layout and use: INSTALL.md.
# Needs make, sh and coreutils only: no Rust toolchain, no Python.
#
#   make install     [DESTDIR=/staging] [PREFIX=/opt/atvm-watcher-service]
#   make uninstall   keeps /etc/atvm-run-watcher.env and /var/lib/atvm-run-watcher
#   make check       validates the installed files (and the units, when systemd runs)
#
# Only PREFIX moves: the env file, the units and the state root are where the binary's
# defaults, `start` and the units (EnvironmentFile=, StateDirectory=) expect them.
# Two units: the template (one watcher per build, started on demand, never enabled) and
# the resume unit (enabled: at boot it starts the watchers a reboot ended).

PREFIX  = /opt/atvm-watcher-service
DESTDIR =

UNIT      = atvm-run-watcher@.service
RESUME    = atvm-run-watcher-resume.service
UNITDIR   = /etc/systemd/system
# Where `systemctl enable` links the resume unit (its WantedBy=multi-user.target).
WANTS     = $(UNITDIR)/multi-user.target.wants
ENVFILE   = /etc/atvm-run-watcher.env
KNOWNISSUES = /etc/atvm-run-watcher.known-issues.json
STATEROOT = /var/lib/atvm-run-watcher
LEGACY    = /root/atvm-watcher-service
# The PREFIX the unit files are written for; `install` rewrites it when PREFIX differs.
UNIT_PREFIX = /opt/atvm-watcher-service

PROGRAMS = atvm-run-watcher atvm_run_watcher.py start-atvm-run-watcher.sh cancel-atvm-run-watcher.sh
DOCS     = README.md INSTALL.md VERSION atvm-run-watcher.env.example rules.example.json known-issues.example.json
INVENTORY = inventory/vm-inventory.md

P = $(DESTDIR)$(PREFIX)

# systemctl only talks to a running systemd about the real root, never a staged one.
SYSTEMD_LIVE = [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]

# Install a file through a temporary name and a rename, so that a watcher starting during
# an upgrade never runs a half-written binary. Usage: $(PUT) MODE SOURCE DEST
PUT = put() { install -m "$$1" "$$2" "$$3.installing" && mv -f "$$3.installing" "$$3"; }; put

.PHONY: usage install uninstall check

usage:
	@echo "usage: make install | make uninstall | make check   [DESTDIR=...] [PREFIX=$(PREFIX)]" >&2
	@echo "(this Makefile installs a prebuilt release; see INSTALL.md)" >&2
	@exit 2

install:
	@case "$(PREFIX)" in /*) ;; *) echo "error: PREFIX must be an absolute path, not '$(PREFIX)'" >&2; exit 2 ;; esac
	@case "$(PREFIX)" in *[!A-Za-z0-9._/+-]*) echo "error: PREFIX may hold only letters, digits and . _ / + - (it goes into the unit's ExecStart=)" >&2; exit 2 ;; esac
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" != 0 ]; then echo "error: make install must run as root (or stage it with DESTDIR=...)" >&2; exit 1; fi
	@for f in $(PROGRAMS) $(DOCS) $(UNIT) $(RESUME); do [ -f "$$f" ] || { echo "error: $$f is missing here: run make install in the unpacked release directory" >&2; exit 1; }; done
# Which build replaces which: the rollback (INSTALL.md) needs to know what was there.
	@old=$$(cat "$(P)/VERSION" 2>/dev/null || true); new=$$(cat VERSION); \
	if [ -z "$$old" ]; then echo "installing atvm-watcher-service $$new (none installed in $(PREFIX) before)"; \
	elif [ "$$old" = "$$new" ]; then echo "reinstalling atvm-watcher-service $$new (the same build)"; \
	else echo "replacing atvm-watcher-service $$old → $$new"; fi
	install -d -m 0755 "$(P)"
	@for f in $(PROGRAMS); do $(PUT) 0755 "$$f" "$(P)/$$f" || exit 1; echo "installed $(PREFIX)/$$f (0755)"; done
	@for f in $(DOCS); do $(PUT) 0644 "$$f" "$(P)/$$f" || exit 1; echo "installed $(PREFIX)/$$f (0644)"; done
	@if [ -f "$(INVENTORY)" ]; then install -d -m 0755 "$(P)/inventory" && $(PUT) 0644 "$(INVENTORY)" "$(P)/$(INVENTORY)" && echo "installed $(PREFIX)/$(INVENTORY) (0644)"; fi
	install -d -m 0755 "$(DESTDIR)$(UNITDIR)"
# A unit that differs (a hand-made one, say) is replaced, and what it ran is named.
	@for n in $(UNIT) $(RESUME); do \
		u="$(DESTDIR)$(UNITDIR)/$$n"; \
		sed 's|$(UNIT_PREFIX)|$(PREFIX)|g' "$$n" >"$$u.installing" && chmod 0644 "$$u.installing" || exit 1; \
		if [ -f "$$u" ] && [ "$$(cat "$$u")" != "$$(cat "$$u.installing")" ]; then \
			was=$$(sed -n 's/^ExecStart=//p' "$$u"); echo "replaced $(UNITDIR)/$$n, which ran: $${was:-(no ExecStart)}"; fi; \
		mv -f "$$u.installing" "$$u" && echo "installed $(UNITDIR)/$$n (0644)" || exit 1; \
	done
# The env file holds the operator's webhook: created once, never overwritten, only warned about.
	@f="$(DESTDIR)$(ENVFILE)"; \
	if [ -e "$$f" ] || [ -L "$$f" ]; then \
		echo "kept the existing $(ENVFILE) (never overwritten)"; \
		m=$$(stat -L -c %a "$$f"); \
		if [ $$(( 0$$m & 077 )) -ne 0 ]; then echo "warning: $(ENVFILE) has mode $$m: start refuses it until you run: chmod 0600 $(ENVFILE)" >&2; fi; \
	else \
		install -d -m 0755 "$(DESTDIR)/etc" \
		&& if [ "$$(id -u)" = 0 ]; then own="-o 0 -g 0"; else own=; fi \
		&& install $$own -m 0600 atvm-run-watcher.env.example "$$f" \
		&& echo "created $(ENVFILE) (root:root 0600) from the example: put the real webhook in it"; \
	fi
	install -d -m 0750 "$(DESTDIR)$(STATEROOT)"
# A hand-made temporary install may linger in /root: moved aside, never deleted.
	@old="$(DESTDIR)$(LEGACY)"; \
	if [ "$(PREFIX)" != "$(LEGACY)" ] && { [ -e "$$old" ] || [ -L "$$old" ]; }; then \
		new="$$old.replaced-$$(date -u +%Y%m%dT%H%M%SZ)"; \
		if [ -e "$$new" ] || [ -L "$$new" ]; then new="$$new-$$$$"; fi; \
		mv "$$old" "$$new" \
		&& echo "note: moved the leftover temporary install $(LEGACY) aside to $${new#"$(DESTDIR)"}: nothing in it was deleted; the clean install is $(PREFIX). If it held your webhook settings, copy them into $(ENVFILE), then remove it when you no longer need it." \
		&& for f in $$(grep -rls '^[[:space:]]*MATTERMOST_ATVM_WEBHOOK[[:space:]]*=' "$$new" 2>/dev/null); do \
			if grep -q REPLACE_ME "$(DESTDIR)$(ENVFILE)" 2>/dev/null; then \
				echo "note: $${f#"$(DESTDIR)"} sets MATTERMOST_ATVM_WEBHOOK, and $(ENVFILE) still has the example's placeholder: copy the MATTERMOST_ATVM_* lines from it into $(ENVFILE)"; \
			else echo "note: $${f#"$(DESTDIR)"} sets MATTERMOST_ATVM_WEBHOOK; $(ENVFILE) (kept) is what the watchers read"; fi; \
		done; \
	fi
# The resume unit is enabled as `systemctl enable` does it; staged (or with no systemd
# running) the same link is made in the tree, and no systemctl runs.
	@if $(SYSTEMD_LIVE); then systemctl daemon-reload && echo "ran systemctl daemon-reload" \
		&& systemctl enable --quiet $(RESUME) && echo "enabled $(RESUME) (systemctl enable): at boot it starts the watchers a reboot ended"; \
	else install -d -m 0755 "$(DESTDIR)$(WANTS)" \
		&& ln -sfn "$(UNITDIR)/$(RESUME)" "$(DESTDIR)$(WANTS)/$(RESUME)" \
		&& echo "enabled $(RESUME): linked $(WANTS)/$(RESUME) -> $(UNITDIR)/$(RESUME)" \
		&& echo "skipped systemctl daemon-reload (staged install or systemd not running)"; fi
	@echo "installed atvm-watcher-service $$(cat VERSION) in $(PREFIX). Next: edit $(ENVFILE) if it is new, then run: make check"

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" != 0 ]; then echo "error: make uninstall must run as root" >&2; exit 1; fi
	@if $(SYSTEMD_LIVE) && [ -n "$$(systemctl list-units --no-legend --state=active 'atvm-run-watcher@*' 2>/dev/null)" ]; then \
		echo "warning: watchers are still running; they keep running until stopped (systemctl stop 'atvm-run-watcher@*' saves their state)" >&2; fi
	@for f in $(PROGRAMS) $(DOCS) $(INVENTORY); do \
		if [ -e "$(P)/$$f" ]; then rm -f "$(P)/$$f" && echo "removed $(PREFIX)/$$f"; fi; done
	@if [ -d "$(P)/inventory" ]; then rmdir "$(P)/inventory" 2>/dev/null || echo "kept $(PREFIX)/inventory: it holds files this package did not install"; fi
	@if [ -d "$(P)" ]; then rmdir "$(P)" 2>/dev/null && echo "removed $(PREFIX)" || echo "kept $(PREFIX): it holds files this package did not install"; fi
	@if $(SYSTEMD_LIVE) && [ -e "$(UNITDIR)/$(RESUME)" ]; then systemctl disable --quiet $(RESUME) && echo "disabled $(RESUME) (systemctl disable)"; fi
	@l="$(DESTDIR)$(WANTS)/$(RESUME)"; if [ -e "$$l" ] || [ -L "$$l" ]; then rm -f "$$l" && echo "removed $(WANTS)/$(RESUME)"; fi
	@for u in $(UNIT) $(RESUME); do \
		if [ -e "$(DESTDIR)$(UNITDIR)/$$u" ]; then rm -f "$(DESTDIR)$(UNITDIR)/$$u" && echo "removed $(UNITDIR)/$$u"; fi; done
	@if $(SYSTEMD_LIVE); then systemctl daemon-reload && echo "ran systemctl daemon-reload"; \
	else echo "skipped systemctl daemon-reload (staged install or systemd not running)"; fi
	@ki=; if [ -e "$(DESTDIR)$(KNOWNISSUES)" ]; then ki=", $(KNOWNISSUES)"; fi; \
	echo "kept $(ENVFILE)$$ki and $(STATEROOT) (every build's state); remove them by hand if you want them gone"

# Each check prints ok/FAIL; the target fails if any did. With DESTDIR it checks the staged tree.
check:
	@fail=0; \
	for c in "atvm-run-watcher --help" "atvm-run-watcher --version" "atvm_run_watcher.py --help" \
		"start-atvm-run-watcher.sh --help" "cancel-atvm-run-watcher.sh --help"; do \
		set -- $$c; \
		if "$(P)/$$1" "$$2" >/dev/null 2>&1; then echo "ok: $(PREFIX)/$$c"; \
		else echo "FAIL: $(PREFIX)/$$c"; fail=1; fi; \
	done; \
	want=$$(cat "$(P)/VERSION" 2>/dev/null); got=$$("$(P)/atvm-run-watcher" --version 2>/dev/null); \
	if [ -n "$$want" ] && [ "$$got" = "atvm-run-watcher $$want" ]; then echo "ok: version $$want"; \
	else echo "FAIL: the binary says '$$got', VERSION says '$$want'"; fail=1; fi; \
	u="$(DESTDIR)$(UNITDIR)/$(UNIT)"; \
	if grep -qx "ExecStart=$(PREFIX)/atvm-run-watcher --build-name %i" "$$u" 2>/dev/null; then echo "ok: $(UNITDIR)/$(UNIT) runs $(PREFIX)/atvm-run-watcher"; \
	else echo "FAIL: $(UNITDIR)/$(UNIT) is missing or does not run $(PREFIX)/atvm-run-watcher"; fail=1; fi; \
	r="$(DESTDIR)$(UNITDIR)/$(RESUME)"; \
	if grep -qx "ExecStart=$(PREFIX)/atvm-run-watcher resume" "$$r" 2>/dev/null; then echo "ok: $(UNITDIR)/$(RESUME) runs $(PREFIX)/atvm-run-watcher resume"; \
	else echo "FAIL: $(UNITDIR)/$(RESUME) is missing or does not run $(PREFIX)/atvm-run-watcher resume"; fail=1; fi; \
	if [ "$$(readlink "$(DESTDIR)$(WANTS)/$(RESUME)" 2>/dev/null)" = "$(UNITDIR)/$(RESUME)" ]; then echo "ok: $(RESUME) is enabled ($(WANTS)/$(RESUME)): it runs at boot"; \
	else echo "FAIL: $(RESUME) is not enabled: after a reboot nothing would start the watchers (make install enables it)"; fail=1; fi; \
	e="$(DESTDIR)$(ENVFILE)"; \
	if [ ! -f "$$e" ]; then echo "FAIL: $(ENVFILE) is missing (make install creates it)"; fail=1; \
	elif out=$$(ATVM_WATCHER_ENV_FILE="$$e" "$(P)/atvm-run-watcher" check-webhook 2>&1); then \
		echo "ok: $(ENVFILE): private, webhook $$(printf '%s\n' "$$out" | sed -n 's/^webhook: \([^ ]*\).*/\1/p') (atvm-run-watcher check-webhook)"; \
		printf '%s\n' "$$out" | sed -n 's/^warning: /      warning: /p'; \
	else \
		why=$$(printf '%s\n' "$$out" | sed -n '/ ERROR /{s/^[^ ]* *ERROR *//;s/^environment file [^ ,:]*//;p;q;}'); \
		case "$$why" in [,:\ ]*) ;; *) why=": $${why:-$$out}" ;; esac; \
		echo "FAIL: $(ENVFILE)$$why (atvm-run-watcher check-webhook)"; fail=1; \
		printf '%s\n' "$$out" | sed -n 's/^warning: /      warning: /p'; \
	fi; \
	if [ -d "$(DESTDIR)$(STATEROOT)" ]; then echo "ok: $(STATEROOT) exists"; else echo "FAIL: $(STATEROOT) is missing"; fail=1; fi; \
	if $(SYSTEMD_LIVE); then \
		for u in $(UNIT) $(RESUME); do \
			if systemctl cat "$$u" >/dev/null; then echo "ok: systemctl cat $$u"; else echo "FAIL: systemctl cat $$u"; fail=1; fi; \
		done; \
		if [ "$$(systemctl is-enabled $(RESUME) 2>&1)" = enabled ]; then echo "ok: systemctl is-enabled $(RESUME)"; \
		else echo "FAIL: systemctl is-enabled $(RESUME): $$(systemctl is-enabled $(RESUME) 2>&1)"; fail=1; fi; \
	else echo "skipped: systemctl cat $(UNIT) $(RESUME) (staged install or systemd not running)"; fi; \
	if [ "$$fail" = 0 ]; then echo "check passed"; else echo "check FAILED" >&2; exit 1; fi
