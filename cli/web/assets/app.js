// Placeholder: the web-page branch writes the page.
