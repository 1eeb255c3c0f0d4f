#!/usr/bin/env bash
# Installs what the office-format tests need when it is missing: LibreOffice Writer without a GUI (the Word report
# is converted to PDF with `soffice --headless`, as an office machine would open it) and poppler-utils (pdftoppm
# renders the PDFs' pages to PNG for people to look at; pdftotext). About 200 MB, 40 s on the CI machine. Needs root
# or sudo; without apt-get the LibreOffice test is skipped with its reason.
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup_office: no apt-get here; install ${need[*]} by hand (the LibreOffice test will be skipped)." >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup_office: installing ${need[*]} (for the office-format tests) ..."
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
