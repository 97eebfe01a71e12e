#!/usr/bin/env bash
# The JavaScript libraries the HTML report (`--report html:FILE`) inlines, re-fetched from the
# npm registry at their pinned versions and checked against the sha256 recorded in
# nr_apply/report/assets/vendor/vendor.json (and against the copies shipped in the package).
#
#   scripts/vendor-html-assets.sh            fetch, verify, change nothing (exit 1 on any mismatch)
#   scripts/vendor-html-assets.sh --update   fetch and write the files and their sha256 (after a
#                                            version bump in PINNED below; review the diff)
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=nr_apply/report/assets/vendor
# package@version  file inside the package  shipped as  licence files inside the package
PINNED=(
  "echarts@6.1.0 dist/echarts.min.js echarts.min.js LICENSE,NOTICE,licenses/LICENSE-d3"
  "cytoscape@3.35.0 dist/cytoscape.min.js cytoscape.min.js LICENSE"
)
update=false
[ "${1:-}" = "--update" ] && update=true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
entries=()
for line in "${PINNED[@]}"; do
  read -r spec inner shipped licences <<<"$line"
  name=${spec%@*}; version=${spec#*@}
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  tarball="$work/$name-$version.tgz"
  mkdir -p "$work/$name" && tar xzf "$tarball" -C "$work/$name"
  sha=$(sha256sum "$work/$name/package/$inner" | cut -d' ' -f1)
  licence=$(node -p "require('$work/$name/package/package.json').license")
  integrity=$(cd "$work" && npm view "$spec" dist.integrity)
  if $update; then
    cp "$work/$name/package/$inner" "$VENDOR/$shipped"
    : >"$VENDOR/$name.LICENSE.txt"
    IFS=, read -ra files <<<"$licences"
    for f in "${files[@]}"; do
      printf '==> %s/%s <==\n' "$name@$version" "$f" >>"$VENDOR/$name.LICENSE.txt"
      cat "$work/$name/package/$f" >>"$VENDOR/$name.LICENSE.txt"
      printf '\n' >>"$VENDOR/$name.LICENSE.txt"
    done
  else
    recorded=$(python3 -c "import json,sys; print(next(e['sha256'] for e in json.load(open('$VENDOR/vendor.json')) if e['name']=='$name' and e['version']=='$version'))" 2>/dev/null || true)
    shipped_sha=$(sha256sum "$VENDOR/$shipped" | cut -d' ' -f1)
    if [ "$sha" != "$recorded" ] || [ "$shipped_sha" != "$recorded" ]; then
      echo "MISMATCH $spec $inner: registry $sha, recorded ${recorded:-none}, shipped $shipped_sha" >&2
      status=1
    else
      echo "ok $spec $inner sha256 $sha"
    fi
  fi
  entries+=("{\"name\": \"$name\", \"version\": \"$version\", \"file\": \"$shipped\", \"from\": \"https://registry.npmjs.org/$name/-/$name-$version.tgz ($inner)\", \"integrity\": \"$integrity\", \"sha256\": \"$sha\", \"license\": \"$licence\", \"license_file\": \"$name.LICENSE.txt\"}")
done
if $update; then
  (IFS=,; echo "[${entries[*]}]") | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin), indent=2))" >"$VENDOR/vendor.json"
  echo "wrote $VENDOR ($(ls "$VENDOR" | tr '\n' ' '))"
fi
exit $status
