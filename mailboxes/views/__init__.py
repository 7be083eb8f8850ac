"""Staff inbox views, one module per part of the work. Thin: parse with a form, open the object
through mailboxes.permissions, call one service or selector, render or redirect."""
