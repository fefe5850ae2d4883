# Shared by the file corpus runners (issue 13): sourced, not run, by bash on the host
# (tools/wamr/files-expected.sh) and by busybox sh in the Linux guest (qemu/linux/linux-test.sh,
# case files), so it is POSIX sh with busybox's find/stat/sha256sum. Sets up a test's run
# directory from guests/files/manifest.txt's "dirs" field and writes the canonical listing
# of what is in it afterwards. tools/wamr/files-expected.sh uses it for iwasm; a runner for
# tzwasm uses the same two functions so that both see the same layout:
#
#   <run>/<module>.aot        the module (argv[0] is its bare name; the runner's cwd is <run>)
#   <run>/outside.txt         "outside\n": a file next to the granted directories, never granted
#   <run>/<HOST>/...          each granted directory, a fresh copy of guests/files/seed/<SEED>
#                             (or empty)
#
# dirs field: space-separated items, in order
#   dir:HOST[=SEED]           --dir=HOST          (the guest sees the preopen name HOST)
#   map:GUEST::HOST[=SEED]    --map-dir=GUEST::HOST
# iwasm (WAMR) numbers the preopens from fd 3: every --dir first, then every --map-dir, in
# the order given, whatever the order of the items.

# The caller sets files_top (the checkout) or files_seed (the seed directories).
files_seed=${files_seed:-${files_top:?files-lib.sh: set files_top or files_seed}/guests/files/seed}

# files_setup <run> <module.aot> <dirs>: creates <run> afresh; prints the runner's directory
# flags (iwasm syntax), one per line.
files_setup() {
    local run=$1 aot=$2 dirs=$3 item host seed spec
    rm -rf "$run" && mkdir -p "$run"
    cp "$aot" "$run/"
    printf 'outside\n' > "$run/outside.txt"
    for item in $dirs; do
        case "$item" in
            dir:*) spec=${item#dir:} ;;
            map:*::*) spec=${item#map:}; spec=${spec#*::} ;;
            *) echo "files_setup: bad dirs item '$item'" >&2; return 1 ;;
        esac
        host=${spec%%=*}
        seed=; [ "$spec" = "$host" ] || seed=${spec#*=}
        case "$host" in ''|/*|*..*) echo "files_setup: bad host dir '$host'" >&2; return 1 ;; esac
        mkdir -p "$run/$host"
        if [ -n "$seed" ]; then
            [ -d "$files_seed/$seed" ] || { echo "files_setup: no seed '$seed'" >&2; return 1; }
            cp -a "$files_seed/$seed/." "$run/$host/"
        fi
    done
    # Flags: --dir entries, then --map-dir entries (the order WAMR numbers them in anyway).
    for item in $dirs; do
        case "$item" in dir:*) spec=${item#dir:}; echo "--dir=${spec%%=*}" ;; esac
    done
    for item in $dirs; do
        case "$item" in map:*) spec=${item#map:}; echo "--map-dir=${spec%%=*}" ;; esac
    done
}

# files_tree <run> <module.aot name>: the canonical listing of <run> (except the module), one
# line per entry, sorted by path (C locale):
#   d <path>                      directory
#   f <path> <size> <sha256>      regular file
#   l <path> -> <target>          symbolic link (not followed)
#   ? <path>                      anything else
files_tree() {
    local run=$1 module=$2 p
    (
        cd "$run" || exit 1
        find . -mindepth 1 ! -path "./$module" | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r p; do
            if [ -L "$p" ]; then printf 'l %s -> %s\n' "$p" "$(readlink "$p")"
            elif [ -d "$p" ]; then printf 'd %s\n' "$p"
            elif [ -f "$p" ]; then
                printf 'f %s %s %s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"
            else printf '? %s\n' "$p"
            fi
        done
    )
}
