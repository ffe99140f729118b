"""wiser_letters: decision letters as PDFs, checked for every required element, approved, stored encrypted."""
