#!/usr/bin/env bash
# Installs what the office-format tests need when it is missing: LibreOffice Writer without a GUI (the Word report
# is converted to PDF with `soffice --headless`, as an office machine would open it) and poppler-utils (pdftoppm
# renders the PDFs' pages to PNG for people to look at; pdftotext). About 200 MB, 40 s on the CI machine. Needs root
# or sudo (scripts/apt_install.sh); without them the LibreOffice test is skipped with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
bash scripts/apt_install.sh setup_office "the office-format tests" "${need[@]}"
