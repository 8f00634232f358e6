/** @type {import('tailwindcss').Config} */
module.exports = {
  content: ['./views/**/*.templ', './**/*.go', './assets/static/console.js'],
  theme: {
    extend: {},
  },
  plugins: [],
};
