/** @type {import('tailwindcss').Config} */
module.exports = {
  content: ['./views/**/*.templ', './**/*.go', '!./third_party/**', './assets/static/console.js'],
  theme: {
    extend: {},
  },
  plugins: [],
};
